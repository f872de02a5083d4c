"""Analytics: daily aggregates per user, per character and per reply latency, for the KPIs.

Every figure is kept per UTC day (the date of the event's timestamp; a session
counts on the day it started), never per event, so that a report over months
reads a few small tables. Handlers only note what each event adds; once per
transaction `before_commit` finds whose each stream is (one query for the
streams it has not seen yet) and adds the batch's sums to the day rows with one
upsert per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from companion.domain.characters import Character
from companion.domain.conversations import Conversation
from companion.domain.emotion import EmotionState
from companion.domain.payments import Payment
from companion.domain.sessions import Session
from companion.domain.subscription import Subscription
from companion.domain.users import User
from companion.domain.wallet import Wallet
from projections.base import Projection, handles
from projections.store import Row, ViewCursor, ViewStore, as_datetime, as_uuid

USER_COUNTERS = (
    "sessions",
    "sessions_ended",
    "session_ms",
    "messages",
    "revenue_yen",
    "payments",
    "gems_bought",
    "gems_bonus",
    "gems_spent",
    "purchases",
    "subscription_starts",
    "renewals",
    "cancel_requests",
    "cancellations",
)
"""What a user's day adds up (see the README's Analytics section for each)."""

MOOD_BANDS = ("very_low", "low", "neutral", "high", "very_high")
"""Moods in five bands: [-100, -60), [-60, -20), [-20, 20], (20, 60], (60, 100]."""

CHARACTER_COUNTERS = ("mood_changes", "mood_sum", *(f"mood_{b}" for b in MOOD_BANDS))
CHARACTER_COUNTERS += ("level_ups", "level_downs")

LOOKUP_CHUNK = 500
STREAM_CACHE_LIMIT = 200_000


def mood_band(mood: int) -> str:
    """The band of a mood (MOOD_BANDS)."""
    if mood < -60:
        return "very_low"
    if mood < -20:
        return "low"
    if mood <= 20:
        return "neutral"
    if mood <= 60:
        return "high"
    return "very_high"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def utc_day(moment: datetime) -> str:
    """The activity day of a moment: its UTC date, as YYYY-MM-DD."""
    return _aware(moment).astimezone(UTC).date().isoformat()


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose a stream is: its user, its character (if any), and when it started (sessions)."""

    user_id: UUID
    character_id: UUID | None
    started_at: datetime | None


@dataclass(slots=True)
class _Batch:
    """What one transaction's events add, before it is known whose their streams are."""

    user_facts: list[tuple[UUID, str, str, int]] = field(default_factory=list)
    """(stream, day, counter, amount) for a user's day."""
    session_ends: list[tuple[UUID, datetime]] = field(default_factory=list)
    moods: list[tuple[UUID, str, int]] = field(default_factory=list)
    """(emotion state, day, mood after)."""
    levels: list[tuple[UUID, str, int, int]] = field(default_factory=list)
    """(character, day, level before, level after)."""
    paid: list[tuple[UUID, str]] = field(default_factory=list)
    """(stream, day) of each payment: a gem pack paid or a subscription invoice paid."""
    latencies: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    """(day, latency ms) → [replies, fallbacks]."""
    streams: dict[UUID, Owner] = field(default_factory=dict)


class AnalyticsProjection(Projection):
    """Users' days, characters' days and reply latencies, summed per UTC day."""

    name = "analytics"
    version = 1
    table_stems = (
        "analytics_users",
        "analytics_user_days",
        "analytics_character_days",
        "analytics_characters",
        "analytics_latency_days",
        "analytics_streams",
    )

    def __init__(self) -> None:
        self._owners: dict[UUID, Owner] = {}
        """Streams already looked up: whose a stream is never changes, so live and fresh
        builds share them."""

    @property
    def users_table(self) -> str:
        return self.table("analytics_users")

    @property
    def user_days_table(self) -> str:
        return self.table("analytics_user_days")

    @property
    def character_days_table(self) -> str:
        return self.table("analytics_character_days")

    @property
    def characters_table(self) -> str:
        return self.table("analytics_characters")

    @property
    def latency_table(self) -> str:
        return self.table("analytics_latency_days")

    @property
    def streams_table(self) -> str:
        return self.table("analytics_streams")

    def ddl(self) -> list[str]:
        counters = "".join(f" {name} {{bigint}} NOT NULL DEFAULT 0," for name in USER_COUNTERS)
        moods = "".join(f" {name} {{bigint}} NOT NULL DEFAULT 0," for name in CHARACTER_COUNTERS)
        return [
            f"CREATE TABLE IF NOT EXISTS {self.users_table} ("
            " user_id {uuid} PRIMARY KEY,"
            " signed_up_at {timestamp} NOT NULL,"
            " signup_day TEXT NOT NULL,"
            " first_paid_day TEXT)",
            f"CREATE TABLE IF NOT EXISTS {self.user_days_table} ("
            " user_id {uuid} NOT NULL,"
            " day TEXT NOT NULL," + counters + " PRIMARY KEY (user_id, day))",
            f"CREATE INDEX IF NOT EXISTS {self.user_days_table}_day"
            f" ON {self.user_days_table} (day)",
            f"CREATE TABLE IF NOT EXISTS {self.character_days_table} ("
            " character_id {uuid} NOT NULL,"
            " day TEXT NOT NULL,"
            " user_id {uuid} NOT NULL," + moods + " mood_last {bigint},"
            " level_last {bigint},"
            " PRIMARY KEY (character_id, day))",
            f"CREATE INDEX IF NOT EXISTS {self.character_days_table}_day"
            f" ON {self.character_days_table} (day)",
            f"CREATE TABLE IF NOT EXISTS {self.characters_table} ("
            " character_id {uuid} PRIMARY KEY,"
            " user_id {uuid} NOT NULL,"
            " name TEXT NOT NULL,"
            " created_at {timestamp} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.latency_table} ("
            " day TEXT NOT NULL,"
            " latency_ms {bigint} NOT NULL,"
            " replies {bigint} NOT NULL,"
            " fallbacks {bigint} NOT NULL,"
            " PRIMARY KEY (day, latency_ms))",
            f"CREATE TABLE IF NOT EXISTS {self.streams_table} ("
            " stream_id {uuid} PRIMARY KEY,"
            " user_id {uuid} NOT NULL,"
            " character_id {uuid},"
            " started_at {timestamp})",
        ]

    def dump(self, store: ViewStore) -> dict[str, list[Row]]:
        keys = {
            self.user_days_table: "user_id, day",
            self.character_days_table: "character_id, day",
            self.latency_table: "day, latency_ms",
        }
        with store.read() as cursor:
            return {
                table: cursor.query(f"SELECT * FROM {table} ORDER BY {keys.get(table, '1')}")
                for table in self.tables
            }

    # -- handlers: note what each event adds -------------------------------------------

    def _batch(self, cursor: ViewCursor) -> _Batch:
        batch: _Batch | None = cursor.scratch.get(self.key)
        if batch is None:
            batch = cursor.scratch[self.key] = _Batch()
        return batch

    def _stream(
        self,
        cursor: ViewCursor,
        stream_id: UUID,
        user_id: UUID,
        character_id: UUID | None = None,
        started_at: datetime | None = None,
    ) -> None:
        owner = Owner(user_id, character_id, started_at)
        self._batch(cursor).streams[stream_id] = owner
        cursor.defer(
            f"INSERT INTO {self.streams_table} (stream_id, user_id, character_id, started_at)"
            " VALUES (:id, :user_id, :character_id, :started_at)",
            {
                "id": stream_id,
                "user_id": user_id,
                "character_id": character_id,
                "started_at": started_at,
            },
        )

    def _count(self, cursor: ViewCursor, event: Any, counter: str, amount: int = 1) -> None:
        self._batch(cursor).user_facts.append(
            (event.originator_id, utc_day(event.timestamp), counter, amount)
        )

    @handles(User.Registered)
    def _registered(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.defer(
            f"INSERT INTO {self.users_table} (user_id, signed_up_at, signup_day)"
            " VALUES (:id, :at, :day)",
            {"id": event.originator_id, "at": event.timestamp, "day": utc_day(event.timestamp)},
        )

    @handles(Session.Started)
    def _session_started(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._stream(cursor, event.originator_id, event.user_id, None, event.started_at)
        self._batch(cursor).user_facts.append(
            (event.originator_id, utc_day(event.started_at), "sessions", 1)
        )

    @handles(Session.Ended)
    def _session_ended(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._batch(cursor).session_ends.append((event.originator_id, event.ended_at))

    @handles(Conversation.Started, EmotionState.Started)
    def _pair_started(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._stream(cursor, event.originator_id, event.user_id, event.character_id)

    @handles(Conversation.UserMessageSent, Conversation.VoiceMessageReceived)
    def _message(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._count(cursor, event, "messages")

    @handles(Conversation.CompanionReplied, Conversation.ReplyRegenerated)
    def _reply(self, cursor: ViewCursor, event: Any, position: int) -> None:
        key = (utc_day(event.timestamp), int(event.latency_ms))
        sums = self._batch(cursor).latencies.setdefault(key, [0, 0])
        sums[0] += 1
        sums[1] += bool(event.fallback)

    @handles(EmotionState.MoodChanged)
    def _mood(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._batch(cursor).moods.append(
            (event.originator_id, utc_day(event.timestamp), int(event.after))
        )

    @handles(Character.Created)
    def _character(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._stream(cursor, event.originator_id, event.owner_id, event.originator_id)
        cursor.defer(
            f"INSERT INTO {self.characters_table} (character_id, user_id, name, created_at)"
            " VALUES (:id, :user_id, :name, :at)",
            {
                "id": event.originator_id,
                "user_id": event.owner_id,
                "name": str(event.persona.get("name", "")),
                "at": event.timestamp,
            },
        )

    @handles(User.Forgotten)
    def _forgotten(self, cursor: ViewCursor, event: Any, position: int) -> None:
        # The figures stay (they hold nothing personal); the names the user gave go.
        cursor.defer(
            f"UPDATE {self.characters_table} SET name = '' WHERE user_id = :id",
            {"id": event.originator_id},
        )

    @handles(Character.RelationshipLevelChanged)
    def _level(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._batch(cursor).levels.append(
            (event.originator_id, utc_day(event.timestamp), int(event.before), int(event.after))
        )

    @handles(Wallet.Opened, Payment.Created, Subscription.Opened)
    def _owned(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._stream(cursor, event.originator_id, event.user_id)

    @handles(Wallet.GemsCredited)
    def _credited(self, cursor: ViewCursor, event: Any, position: int) -> None:
        if event.kind == "gem_pack":
            self._count(cursor, event, "gems_bought", int(event.gems))
        elif event.kind == "subscription_bonus":
            self._count(cursor, event, "gems_bonus", int(event.gems))

    @handles(Wallet.ItemPurchased)
    def _purchased(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._count(cursor, event, "gems_spent", int(event.gems))
        self._count(cursor, event, "purchases")

    @handles(Payment.Succeeded)
    def _paid(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._count(cursor, event, "revenue_yen", int(event.amount_yen))
        self._count(cursor, event, "payments")
        self._batch(cursor).paid.append((event.originator_id, utc_day(event.timestamp)))

    @handles(Subscription.Requested)
    def _subscribed(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._count(cursor, event, "subscription_starts")

    @handles(Subscription.Renewed)
    def _renewed(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._count(cursor, event, "renewals")
        self._batch(cursor).paid.append((event.originator_id, utc_day(event.timestamp)))

    @handles(Subscription.Updated)
    def _subscription_updated(self, cursor: ViewCursor, event: Any, position: int) -> None:
        if event.cancel_at_period_end:
            self._count(cursor, event, "cancel_requests")

    @handles(Subscription.Cancelled)
    def _subscription_cancelled(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._count(cursor, event, "cancellations")

    # -- once per transaction: whose, then the sums ------------------------------------

    def before_commit(self, cursor: ViewCursor) -> None:
        batch: _Batch | None = cursor.scratch.pop(self.key, None)
        if batch is None:
            return
        owners = self._owners_of(cursor, batch)
        user_days: dict[tuple[UUID, str], dict[str, int]] = {}

        def add(user_id: UUID, day: str, counter: str, amount: int) -> None:
            sums = user_days.get((user_id, day))
            if sums is None:
                sums = user_days[user_id, day] = dict.fromkeys(USER_COUNTERS, 0)
            sums[counter] += amount

        for stream_id, day, counter, amount in batch.user_facts:
            owner = owners.get(stream_id)
            if owner is not None:
                add(owner.user_id, day, counter, amount)
        for session_id, ended_at in batch.session_ends:
            owner = owners.get(session_id)
            if owner is None or owner.started_at is None:
                continue
            started_at = _aware(owner.started_at)
            elapsed = max(_aware(ended_at) - started_at, timedelta(0))
            day = utc_day(started_at)
            add(owner.user_id, day, "sessions_ended", 1)
            add(owner.user_id, day, "session_ms", int(elapsed.total_seconds() * 1000))
        self._write_user_days(cursor, user_days)
        self._write_character_days(cursor, batch, owners)
        self._write_latencies(cursor, batch)
        statement = (
            f"UPDATE {self.users_table} SET first_paid_day = :day"
            " WHERE user_id = :id AND first_paid_day IS NULL"
        )
        for stream_id, day in batch.paid:
            owner = owners.get(stream_id)
            if owner is not None:
                cursor.defer(statement, {"id": owner.user_id, "day": day})

    def _owners_of(self, cursor: ViewCursor, batch: _Batch) -> dict[UUID, Owner]:
        """Whose each stream the batch names is: from the batch, the cache, then the table."""
        if len(self._owners) > STREAM_CACHE_LIMIT:
            self._owners.clear()
        self._owners.update(batch.streams)
        wanted = {fact[0] for fact in batch.user_facts}
        wanted.update(end[0] for end in batch.session_ends)
        wanted.update(mood[0] for mood in batch.moods)
        wanted.update(level[0] for level in batch.levels)
        wanted.update(paid[0] for paid in batch.paid)
        missing = [stream_id for stream_id in wanted if stream_id not in self._owners]
        for start in range(0, len(missing), LOOKUP_CHUNK):
            chunk = missing[start : start + LOOKUP_CHUNK]
            names = {f"s{index}": stream_id for index, stream_id in enumerate(chunk)}
            rows = cursor.query(
                f"SELECT stream_id, user_id, character_id, started_at FROM {self.streams_table}"
                f" WHERE stream_id IN ({', '.join(':' + name for name in names)})",
                names,
            )
            for row in rows:
                self._owners[as_uuid(row["stream_id"])] = Owner(
                    as_uuid(row["user_id"]),
                    as_uuid(row["character_id"]) if row["character_id"] is not None else None,
                    as_datetime(row["started_at"]) if row["started_at"] is not None else None,
                )
        owners = self._owners
        return {stream_id: owners[stream_id] for stream_id in wanted if stream_id in owners}

    def _write_user_days(
        self, cursor: ViewCursor, user_days: dict[tuple[UUID, str], dict[str, int]]
    ) -> None:
        table = self.user_days_table
        columns = ", ".join(USER_COUNTERS)
        values = ", ".join(f":{name}" for name in USER_COUNTERS)
        sums = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in USER_COUNTERS)
        statement = (
            f"INSERT INTO {table} (user_id, day, {columns}) VALUES (:user_id, :day, {values})"
            f" ON CONFLICT (user_id, day) DO UPDATE SET {sums}"
        )
        for (user_id, day), counters in user_days.items():
            cursor.defer(statement, {"user_id": user_id, "day": day, **counters})

    def _write_character_days(
        self, cursor: ViewCursor, batch: _Batch, owners: dict[UUID, Owner]
    ) -> None:
        days: dict[tuple[UUID, str], dict[str, Any]] = {}

        def row(character_id: UUID, user_id: UUID, day: str) -> dict[str, Any]:
            found = days.get((character_id, day))
            if found is None:
                found = days[character_id, day] = {
                    **dict.fromkeys(CHARACTER_COUNTERS, 0),
                    "user_id": user_id,
                    "mood_last": None,
                    "level_last": None,
                }
            return found

        for state_id, day, mood in batch.moods:
            owner = owners.get(state_id)
            if owner is None or owner.character_id is None:
                continue
            sums = row(owner.character_id, owner.user_id, day)
            sums["mood_changes"] += 1
            sums["mood_sum"] += mood
            sums[f"mood_{mood_band(mood)}"] += 1
            sums["mood_last"] = mood
        for character_id, day, before, after in batch.levels:
            owner = owners.get(character_id)
            if owner is None:
                continue
            sums = row(character_id, owner.user_id, day)
            sums["level_ups"] += after > before
            sums["level_downs"] += after < before
            sums["level_last"] = after
        table = self.character_days_table
        columns = ", ".join(CHARACTER_COUNTERS)
        values = ", ".join(f":{name}" for name in CHARACTER_COUNTERS)
        sums_sql = ", ".join(
            f"{name} = {table}.{name} + excluded.{name}" for name in CHARACTER_COUNTERS
        )
        statement = (
            f"INSERT INTO {table} (character_id, day, user_id, {columns}, mood_last, level_last)"
            f" VALUES (:character_id, :day, :user_id, {values}, :mood_last, :level_last)"
            f" ON CONFLICT (character_id, day) DO UPDATE SET {sums_sql},"
            f" mood_last = COALESCE(excluded.mood_last, {table}.mood_last),"
            f" level_last = COALESCE(excluded.level_last, {table}.level_last)"
        )
        for (character_id, day), values_of in days.items():
            cursor.defer(statement, {"character_id": character_id, "day": day, **values_of})

    def _write_latencies(self, cursor: ViewCursor, batch: _Batch) -> None:
        table = self.latency_table
        statement = (
            f"INSERT INTO {table} (day, latency_ms, replies, fallbacks)"
            " VALUES (:day, :latency_ms, :replies, :fallbacks)"
            f" ON CONFLICT (day, latency_ms) DO UPDATE SET"
            f" replies = {table}.replies + excluded.replies,"
            f" fallbacks = {table}.fallbacks + excluded.fallbacks"
        )
        for (day, latency_ms), (replies, fallbacks) in batch.latencies.items():
            cursor.defer(
                statement,
                {"day": day, "latency_ms": latency_ms, "replies": replies, "fallbacks": fallbacks},
            )
