"""Memories: every live memory of each user × character, with its provenance and its terms.

One row per live memory: its type, text, importance, tags, emotion, the
messages it came from and the extractors that found it, when it was recorded
and last reinforced, when it expires, and its lemmas (the lexical index the
retrieval policy ranks by). A forgotten, expired or superseded memory leaves
the table (its events stay in the log); a user who is forgotten leaves with
all their memories. Answers `GET …/memories` and `GET …/memories/{id}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from companion.domain.memory import MemoryBook
from companion.domain.users import User
from projections.base import Projection, handles
from projections.store import Row, ViewCursor, ViewStore, as_datetime, as_json, as_uuid

PPM = 1_000_000
"""Importance is kept in millionths: an integer every database sorts and compares alike."""


@dataclass(frozen=True)
class MemoryView:
    memory_id: UUID
    user_id: UUID
    character_id: UUID
    kind: str
    text: str
    value: str
    key: list[str]
    importance: float
    tags: list[str]
    emotion: str | None
    source_message_ids: list[UUID]
    extractors: list[str]
    recorded_at: datetime
    last_reinforced_at: datetime
    reinforcements: int
    horizon: str
    expires_at: datetime | None
    lemmas: list[str]
    supersedes: UUID | None


@dataclass(frozen=True)
class MemoryPage:
    memories: list[MemoryView]
    next_before: UUID | None
    """Pass as `before` for the next (older) page; None when this is the last."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


class MemoriesProjection(Projection):
    """The live memories, newest first per user × character."""

    name = "memories"
    version = 1
    table_stems = ("memories", "memory_books")

    @property
    def memories_table(self) -> str:
        return self.table("memories")

    @property
    def books_table(self) -> str:
        return self.table("memory_books")

    def ddl(self) -> list[str]:
        memories, books = self.memories_table, self.books_table
        return [
            f"CREATE TABLE IF NOT EXISTS {books} ("
            " book_id {uuid} PRIMARY KEY,"
            " user_id {uuid} NOT NULL,"
            " character_id {uuid} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {books}_user ON {books} (user_id)",
            f"CREATE TABLE IF NOT EXISTS {memories} ("
            " memory_id {uuid} PRIMARY KEY,"
            " book_id {uuid} NOT NULL,"
            " user_id {uuid} NOT NULL,"
            " character_id {uuid} NOT NULL,"
            " seq {bigint} NOT NULL,"
            " kind TEXT NOT NULL,"
            " memory_key {json} NOT NULL,"
            " value TEXT NOT NULL,"
            " text TEXT NOT NULL,"
            " importance_ppm {bigint} NOT NULL,"
            " tags {json} NOT NULL,"
            " emotion TEXT,"
            " sources {json} NOT NULL,"
            " extractors {json} NOT NULL,"
            " recorded_at {timestamp} NOT NULL,"
            " last_reinforced_at {timestamp} NOT NULL,"
            " reinforcements {bigint} NOT NULL,"
            " horizon TEXT NOT NULL,"
            " expires_at {timestamp},"
            " lemmas {json} NOT NULL,"
            " supersedes {uuid})",
            f"CREATE INDEX IF NOT EXISTS {memories}_page ON {memories} (book_id, seq)",
            f"CREATE INDEX IF NOT EXISTS {memories}_user ON {memories} (user_id)",
        ]

    # -- handlers ----------------------------------------------------------------------

    @handles(MemoryBook.Opened)
    def _opened(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.books_table} (book_id, user_id, character_id)"
            " VALUES (:book_id, :user_id, :character_id)",
            {
                "book_id": event.originator_id,
                "user_id": event.user_id,
                "character_id": event.character_id,
            },
        )

    @handles(MemoryBook.MemoryRecorded)
    def _recorded(self, cursor: ViewCursor, event: Any, position: int) -> None:
        if event.supersedes is not None:
            self._leave(cursor, event.supersedes)
        books = cursor.query(
            f"SELECT user_id, character_id FROM {self.books_table} WHERE book_id = :id",
            {"id": event.originator_id},
        )
        if not books:
            return  # the user was forgotten: their book's later events show nothing
        cursor.execute(
            f"INSERT INTO {self.memories_table} (memory_id, book_id, user_id, character_id, seq,"
            " kind, memory_key, value, text, importance_ppm, tags, emotion, sources, extractors,"
            " recorded_at, last_reinforced_at, reinforcements, horizon, expires_at, lemmas,"
            " supersedes) VALUES (:memory_id, :book_id, :user_id, :character_id, :seq, :kind,"
            " :key, :value, :text, :importance, :tags, :emotion, :sources, :extractors, :at, :at,"
            " 0, :horizon, :expires_at, :lemmas, :supersedes)",
            {
                "memory_id": event.memory_id,
                "book_id": event.originator_id,
                "user_id": as_uuid(books[0]["user_id"]),
                "character_id": as_uuid(books[0]["character_id"]),
                "seq": position,
                "kind": event.memory_type,
                "key": list(event.key),
                "value": event.value,
                "text": event.text,
                "importance": round(event.importance * PPM),
                "tags": list(event.tags),
                "emotion": event.emotion,
                "sources": [str(s) for s in event.source_message_ids],
                "extractors": [event.extractor],
                "at": _utc(event.at),
                "horizon": event.horizon,
                "expires_at": None if event.expires_at is None else _utc(event.expires_at),
                "lemmas": list(event.lemmas),
                "supersedes": event.supersedes,
            },
        )

    @handles(MemoryBook.MemoryReinforced)
    def _reinforced(self, cursor: ViewCursor, event: Any, position: int) -> None:
        rows = cursor.query(
            f"SELECT sources, extractors FROM {self.memories_table} WHERE memory_id = :id",
            {"id": event.memory_id},
        )
        if not rows:
            return
        sources = list(as_json(rows[0]["sources"]))
        extractors = list(as_json(rows[0]["extractors"]))
        if event.extractor not in extractors:
            extractors.append(event.extractor)
        cursor.execute(
            f"UPDATE {self.memories_table} SET sources = :sources, extractors = :extractors,"
            " importance_ppm = :importance, horizon = :horizon, expires_at = :expires_at,"
            " last_reinforced_at = :at, reinforcements = reinforcements + 1"
            " WHERE memory_id = :id",
            {
                "sources": [*sources, str(event.source_message_id)],
                "extractors": extractors,
                "importance": round(event.importance * PPM),
                "horizon": event.horizon,
                "expires_at": None if event.expires_at is None else _utc(event.expires_at),
                "at": _utc(event.at),
                "id": event.memory_id,
            },
        )

    @handles(MemoryBook.MemoryForgotten, MemoryBook.MemoryExpired)
    def _gone(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._leave(cursor, event.memory_id)

    @handles(User.Forgotten)
    def _user_forgotten(self, cursor: ViewCursor, event: Any, position: int) -> None:
        params = {"id": event.originator_id}
        cursor.execute(f"DELETE FROM {self.memories_table} WHERE user_id = :id", params)
        cursor.execute(f"DELETE FROM {self.books_table} WHERE user_id = :id", params)

    def _leave(self, cursor: ViewCursor, memory_id: UUID) -> None:
        cursor.execute(
            f"DELETE FROM {self.memories_table} WHERE memory_id = :id", {"id": memory_id}
        )

    def dump(self, store: ViewStore) -> dict[str, list[Row]]:
        with store.read() as cursor:
            return {
                self.books_table: cursor.query(
                    f"SELECT * FROM {self.books_table} ORDER BY book_id"
                ),
                self.memories_table: cursor.query(
                    f"SELECT * FROM {self.memories_table} ORDER BY memory_id"
                ),
            }

    # -- queries -----------------------------------------------------------------------

    def page(
        self,
        store: ViewStore,
        user_id: UUID,
        character_id: UUID,
        *,
        now: datetime,
        before: UUID | None = None,
        limit: int = 50,
        kind: str | None = None,
    ) -> MemoryPage | None:
        """The user's live memories with the character, newest first, `limit` at a time.

        None when `before` is not one of them (unknown, gone, or not theirs).
        """
        conditions = [
            "user_id = :user_id",
            "character_id = :character_id",
            "(expires_at IS NULL OR expires_at > :now)",
        ]
        params: dict[str, Any] = {
            "user_id": user_id,
            "character_id": character_id,
            "now": _utc(now),
            "limit": limit + 1,
        }
        if kind is not None:
            conditions.append("kind = :kind")
            params["kind"] = kind
        with store.read() as cursor:
            if before is not None:
                found = cursor.query(
                    f"SELECT seq FROM {self.memories_table} WHERE memory_id = :id"
                    " AND user_id = :user_id AND character_id = :character_id",
                    {"id": before, "user_id": user_id, "character_id": character_id},
                )
                if not found:
                    return None
                conditions.append("seq < :seq")
                params["seq"] = int(found[0]["seq"])
            rows = cursor.query(
                f"SELECT * FROM {self.memories_table} WHERE {' AND '.join(conditions)}"
                " ORDER BY seq DESC LIMIT :limit",
                params,
            )
        memories = [_view(row) for row in rows[:limit]]
        more = len(rows) > limit
        return MemoryPage(memories, memories[-1].memory_id if more and memories else None)

    def get(
        self, store: ViewStore, user_id: UUID, character_id: UUID, memory_id: UUID, now: datetime
    ) -> MemoryView | None:
        """One live memory of the user with the character; None for anything else."""
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.memories_table} WHERE memory_id = :id"
                " AND user_id = :user_id AND character_id = :character_id"
                " AND (expires_at IS NULL OR expires_at > :now)",
                {
                    "id": memory_id,
                    "user_id": user_id,
                    "character_id": character_id,
                    "now": _utc(now),
                },
            )
        return _view(rows[0]) if rows else None


def _view(row: Row) -> MemoryView:
    expires = row["expires_at"]
    supersedes = row["supersedes"]
    return MemoryView(
        memory_id=as_uuid(row["memory_id"]),
        user_id=as_uuid(row["user_id"]),
        character_id=as_uuid(row["character_id"]),
        kind=row["kind"],
        text=row["text"],
        value=row["value"],
        key=list(as_json(row["memory_key"])),
        importance=int(row["importance_ppm"]) / PPM,
        tags=list(as_json(row["tags"])),
        emotion=row["emotion"],
        source_message_ids=[UUID(s) for s in as_json(row["sources"])],
        extractors=list(as_json(row["extractors"])),
        recorded_at=as_datetime(row["recorded_at"]),
        last_reinforced_at=as_datetime(row["last_reinforced_at"]),
        reinforcements=int(row["reinforcements"]),
        horizon=row["horizon"],
        expires_at=None if expires is None else as_datetime(expires),
        lemmas=list(as_json(row["lemmas"])),
        supersedes=None if supersedes is None else as_uuid(supersedes),
    )
