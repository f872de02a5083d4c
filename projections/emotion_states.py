"""Emotion states: each character's current mood towards its user, and every point of its history.

The current row answers `GET …/emotion` and the avatar; the history (one
point per MoodChanged) answers `GET …/emotion?at=` (the state at a past
moment) and `GET …/emotion/history` (a mood chart), without replaying the log.
A character has its row from its creation, at the persona's baseline.

Every value here is one the write side decided and put on its events (the
baseline, the expressions): this read model copies them and decides nothing,
so a rebuild after a policy changes shows what was decided, not what would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from companion.domain.characters import Character
from companion.domain.emotion import EmotionState
from companion.domain.identity import emotion_state_id
from projections.base import Projection, handles
from projections.store import Row, ViewCursor, ViewStore, as_datetime, as_json, as_uuid


@dataclass(frozen=True)
class EmotionView:
    character_id: UUID
    user_id: UUID
    mood: int
    baseline: int
    factors: list[dict[str, Any]]
    expression: str
    cause: str | None
    updated_at: datetime


@dataclass(frozen=True)
class MoodPoint:
    at: datetime
    mood: int
    expression: str


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


class EmotionStatesProjection(Projection):
    """One row per character (its mood towards its user) and one history point per change."""

    name = "emotion_states"
    version = 2  # v2: the expression at the baseline is a column, copied from the events
    table_stems = ("emotion_states", "emotion_history")

    @property
    def states_table(self) -> str:
        return self.table("emotion_states")

    @property
    def history_table(self) -> str:
        return self.table("emotion_history")

    def ddl(self) -> list[str]:
        states, history = self.states_table, self.history_table
        return [
            f"CREATE TABLE IF NOT EXISTS {states} ("
            " state_id {uuid} PRIMARY KEY,"
            " character_id {uuid} NOT NULL UNIQUE,"
            " user_id {uuid} NOT NULL,"
            " mood {bigint} NOT NULL,"
            " baseline {bigint} NOT NULL,"
            " baseline_expression TEXT NOT NULL,"
            " factors {json} NOT NULL,"
            " expression TEXT NOT NULL,"
            " cause TEXT,"
            " created_at {timestamp} NOT NULL,"
            " updated_at {timestamp} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {history} ("
            " state_id {uuid} NOT NULL,"
            " version {bigint} NOT NULL,"
            " changed_at {timestamp} NOT NULL,"
            " mood_before {bigint} NOT NULL,"
            " mood {bigint} NOT NULL,"
            " factors {json} NOT NULL,"
            " expression TEXT NOT NULL,"
            " cause TEXT NOT NULL,"
            " PRIMARY KEY (state_id, version))",
            f"CREATE INDEX IF NOT EXISTS {history}_at ON {history} (state_id, changed_at)",
        ]

    @handles(Character.Created)
    def _character_created(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.states_table} (state_id, character_id, user_id, mood, baseline,"
            " baseline_expression, factors, expression, cause, created_at, updated_at)"
            " VALUES (:state_id, :character_id, :user_id, :mood, :mood, :expression, :factors,"
            " :expression, NULL, :at, :at)",
            {
                "state_id": emotion_state_id(event.owner_id, event.originator_id),
                "character_id": event.originator_id,
                "user_id": event.owner_id,
                "mood": event.baseline,
                "factors": [],
                "expression": event.baseline_expression,
                "at": _utc(event.timestamp),
            },
        )

    @handles(Character.PersonaUpdated)
    def _persona_updated(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"UPDATE {self.states_table} SET baseline = :baseline,"
            " baseline_expression = :expression WHERE character_id = :id",
            {
                "baseline": event.baseline,
                "expression": event.baseline_expression,
                "id": event.originator_id,
            },
        )

    @handles(EmotionState.Started)
    def _started(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"UPDATE {self.states_table} SET baseline = :baseline,"
            " baseline_expression = :expression WHERE state_id = :id",
            {"baseline": event.baseline, "expression": event.expression, "id": event.originator_id},
        )

    @handles(EmotionState.MoodChanged)
    def _mood_changed(self, cursor: ViewCursor, event: Any, position: int) -> None:
        at = _utc(event.at)
        cursor.execute(
            f"UPDATE {self.states_table} SET mood = :mood, factors = :factors,"
            " expression = :expression, cause = :cause, updated_at = :at WHERE state_id = :id",
            {
                "mood": event.after,
                "factors": list(event.factors),
                "expression": event.expression,
                "cause": event.cause,
                "at": at,
                "id": event.originator_id,
            },
        )
        cursor.execute(
            f"INSERT INTO {self.history_table} (state_id, version, changed_at, mood_before, mood,"
            " factors, expression, cause)"
            " VALUES (:id, :version, :at, :before, :mood, :factors, :expression, :cause)",
            {
                "id": event.originator_id,
                "version": event.originator_version,
                "at": at,
                "before": event.before,
                "mood": event.after,
                "factors": list(event.factors),
                "expression": event.expression,
                "cause": event.cause,
            },
        )

    def dump(self, store: ViewStore) -> dict[str, list[Row]]:
        with store.read() as cursor:
            return {
                self.states_table: cursor.query(
                    f"SELECT * FROM {self.states_table} ORDER BY state_id"
                ),
                self.history_table: cursor.query(
                    f"SELECT * FROM {self.history_table} ORDER BY state_id, version"
                ),
            }

    # -- queries -----------------------------------------------------------------------

    def current(self, store: ViewStore, user_id: UUID, character_id: UUID) -> EmotionView | None:
        """The state now, or None when the character is not this user's (or not there yet)."""
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.states_table} WHERE state_id = :id",
                {"id": emotion_state_id(user_id, character_id)},
            )
        return _view(rows[0]) if rows else None

    def at(
        self, store: ViewStore, user_id: UUID, character_id: UUID, moment: datetime
    ) -> EmotionView | None:
        """The state as it was at `moment`: the last change at or before it, else the baseline."""
        state_id = emotion_state_id(user_id, character_id)
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.states_table} WHERE state_id = :id", {"id": state_id}
            )
            if not rows:
                return None
            points = cursor.query(
                f"SELECT * FROM {self.history_table} WHERE state_id = :id AND changed_at <= :at"
                " ORDER BY changed_at DESC, version DESC LIMIT 1",
                {"id": state_id, "at": _utc(moment)},
            )
        state = _view(rows[0])
        if not points:
            return EmotionView(
                character_id=state.character_id,
                user_id=state.user_id,
                mood=state.baseline,
                baseline=state.baseline,
                factors=[],
                expression=rows[0]["baseline_expression"],
                cause=None,
                updated_at=as_datetime(rows[0]["created_at"]),
            )
        point = points[0]
        return EmotionView(
            character_id=state.character_id,
            user_id=state.user_id,
            mood=int(point["mood"]),
            baseline=state.baseline,
            factors=list(as_json(point["factors"])),
            expression=point["expression"],
            cause=point["cause"],
            updated_at=as_datetime(point["changed_at"]),
        )

    def history(
        self,
        store: ViewStore,
        user_id: UUID,
        character_id: UUID,
        *,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[MoodPoint]:
        """The mood's points between `since` and `until` (both included), oldest first.

        When there are more than `limit`, the most recent `limit` are answered.
        """
        conditions = ["state_id = :id"]
        params: dict[str, Any] = {"id": emotion_state_id(user_id, character_id), "limit": limit}
        if since is not None:
            conditions.append("changed_at >= :since")
            params["since"] = _utc(since)
        if until is not None:
            conditions.append("changed_at <= :until")
            params["until"] = _utc(until)
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT changed_at, mood, expression, version FROM {self.history_table}"
                f" WHERE {' AND '.join(conditions)}"
                " ORDER BY changed_at DESC, version DESC LIMIT :limit",
                params,
            )
        return [
            MoodPoint(
                at=as_datetime(r["changed_at"]), mood=int(r["mood"]), expression=r["expression"]
            )
            for r in reversed(rows)
        ]

    def characters(self, store: ViewStore) -> list[tuple[UUID, UUID]]:
        """Every (character, user) pair: whose days the daily-life scheduler lives."""
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT character_id, user_id FROM {self.states_table} ORDER BY character_id"
            )
        return [(as_uuid(r["character_id"]), as_uuid(r["user_id"])) for r in rows]


def _view(row: Row) -> EmotionView:
    return EmotionView(
        character_id=as_uuid(row["character_id"]),
        user_id=as_uuid(row["user_id"]),
        mood=int(row["mood"]),
        baseline=int(row["baseline"]),
        factors=list(as_json(row["factors"])),
        expression=row["expression"],
        cause=row["cause"],
        updated_at=as_datetime(row["updated_at"]),
    )
