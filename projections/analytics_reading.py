"""The rows of the analytics read model a report needs, read once per report.

A report reads per-day aggregates only (users' days, characters' days, the
latency histogram): a few rows per user and day, whatever the size of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from projections.analytics import CHARACTER_COUNTERS, USER_COUNTERS, AnalyticsProjection
from projections.store import ViewStore, as_datetime, as_uuid


@dataclass(frozen=True, slots=True)
class UserDay:
    user_id: UUID
    day: date
    counts: dict[str, int]
    """Each of projections.analytics.USER_COUNTERS."""

    @property
    def active(self) -> bool:
        """Active: started a session or sent a message that UTC day."""
        return self.counts["sessions"] > 0 or self.counts["messages"] > 0


@dataclass(frozen=True, slots=True)
class SignUp:
    user_id: UUID
    day: date
    first_paid: date | None


@dataclass(frozen=True, slots=True)
class CharacterDay:
    character_id: UUID
    user_id: UUID
    day: date
    counts: dict[str, int]
    """Each of projections.analytics.CHARACTER_COUNTERS."""
    mood_last: int | None
    level_last: int | None


@dataclass(frozen=True, slots=True)
class CharacterRow:
    character_id: UUID
    user_id: UUID
    name: str
    created: date


@dataclass(frozen=True)
class Rows:
    sign_ups: list[SignUp]
    user_days: list[UserDay]
    character_days: list[CharacterDay]
    characters: list[CharacterRow]
    latencies: list[tuple[date, int, int, int]]
    """(day, latency ms, replies, fallbacks)."""


def _utc_date(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def read_rows(
    views: ViewStore,
    model: AnalyticsProjection,
    *,
    since: date,
    until: date,
    characters_since: date | None = None,
) -> Rows:
    """Users' days within [since, until], every sign-up up to `until`, characters' days
    up to `until` (from `characters_since`, if given) and the latencies of [since, until]."""
    bounds = {"since": since.isoformat(), "until": until.isoformat()}
    counters = ", ".join(USER_COUNTERS)
    moods = ", ".join(CHARACTER_COUNTERS)
    character_where = "day <= :until" + (
        " AND day >= :characters_since" if characters_since is not None else ""
    )
    character_bounds = dict(bounds)
    if characters_since is not None:
        character_bounds["characters_since"] = characters_since.isoformat()
    with views.read() as cursor:
        users = cursor.query(
            f"SELECT user_id, signup_day, first_paid_day FROM {model.users_table}"
            " WHERE signup_day <= :until",
            {"until": bounds["until"]},
        )
        days = cursor.query(
            f"SELECT user_id, day, {counters} FROM {model.user_days_table}"
            " WHERE day >= :since AND day <= :until",
            bounds,
        )
        character_days = cursor.query(
            f"SELECT character_id, user_id, day, {moods}, mood_last, level_last"
            f" FROM {model.character_days_table} WHERE {character_where}",
            character_bounds,
        )
        characters = cursor.query(
            f"SELECT character_id, user_id, name, created_at FROM {model.characters_table}"
        )
        latencies = cursor.query(
            f"SELECT day, latency_ms, replies, fallbacks FROM {model.latency_table}"
            " WHERE day >= :since AND day <= :until",
            bounds,
        )
    return Rows(
        sign_ups=[
            SignUp(
                as_uuid(row["user_id"]),
                _day(row["signup_day"]),
                _day(row["first_paid_day"]) if row["first_paid_day"] is not None else None,
            )
            for row in users
        ],
        user_days=[
            UserDay(
                as_uuid(row["user_id"]),
                _day(row["day"]),
                {name: int(row[name]) for name in USER_COUNTERS},
            )
            for row in days
        ],
        character_days=[
            CharacterDay(
                as_uuid(row["character_id"]),
                as_uuid(row["user_id"]),
                _day(row["day"]),
                {name: int(row[name]) for name in CHARACTER_COUNTERS},
                int(row["mood_last"]) if row["mood_last"] is not None else None,
                int(row["level_last"]) if row["level_last"] is not None else None,
            )
            for row in character_days
        ],
        characters=[
            CharacterRow(
                as_uuid(row["character_id"]),
                as_uuid(row["user_id"]),
                str(row["name"]),
                _utc_date(as_datetime(row["created_at"])),
            )
            for row in characters
        ],
        latencies=[
            (_day(row["day"]), int(row["latency_ms"]), int(row["replies"]), int(row["fallbacks"]))
            for row in latencies
        ],
    )
