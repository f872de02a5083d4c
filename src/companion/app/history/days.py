"""A character's days: the events of its own life, newest first, for its user.

Each day that had an event is a DailyLife aggregate whose id follows from the
character and the date, so the days of a range are found by their ids, a
month of them in one read of the store, with no read model to wait for. The
range starts no earlier than the day before the character was created (its
user's today may be behind UTC) and ends no later than the day after today.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from companion.app.characters import owned_character
from companion.app.history.timelines import utc
from companion.app.unit_of_work import UnitOfWork
from companion.domain.daily_life import DailyLife
from companion.domain.identity import daily_life_id

DAYS_PER_READ = 31
"""How many days' ids one read of the store asks for."""


@dataclass(frozen=True)
class Day:
    """One day of the character's life that had an event."""

    day: date
    key: str
    kind: str
    title: str
    description: str
    description_ja: str
    season: str
    mood_impact: int
    occurred_at: datetime
    shared_in: UUID | None
    """The reply that told the user about it (None: not told yet)."""


@dataclass(frozen=True)
class DayPage:
    days: list[Day]
    next_before: date | None
    """Pass as `before` for older days (None: there are none)."""


def character_days(
    uow: UnitOfWork,
    *,
    user_id: UUID,
    character_id: UUID,
    since: date | None = None,
    until: date | None = None,
    before: date | None = None,
    limit: int = 50,
) -> DayPage:
    """The character's days from `since` to `until` (both included) and before `before`,
    newest first, at most `limit` of them.

    Another user's character is CharacterNotFound.
    """
    character = owned_character(uow, user_id=user_id, character_id=character_id)
    first = utc(character.created_on).date() - timedelta(days=1)
    last = utc(uow.clock()).date() + timedelta(days=1)
    if since is not None:
        first = max(first, since)
    if until is not None:
        last = min(last, until)
    if before is not None:
        if before <= first:
            return DayPage([], None)
        last = min(last, before - timedelta(days=1))
    found: list[Day] = []
    for chunk in _chunks(first, last):
        ids = {daily_life_id(character_id, day.isoformat()): day for day in chunk}
        with uow.checked((), maybe_missing=ids):
            for life_id in ids:
                life = uow.find(DailyLife, life_id, to_change=False)
                if life is not None:
                    found.append(_day(life))
        if len(found) > limit:
            break
    page = found[:limit]
    return DayPage(page, page[-1].day if len(found) > limit else None)


def _chunks(first: date, last: date) -> Iterator[list[date]]:
    """The days from `last` back to `first`, a read's worth at a time."""
    day = last
    while day >= first:
        chunk: list[date] = []
        while day >= first and len(chunk) < DAYS_PER_READ:
            chunk.append(day)
            if day == date.min:
                break
            day -= timedelta(days=1)
        yield chunk
        if chunk[-1] == date.min:
            return


def _day(life: DailyLife) -> Day:
    return Day(
        day=date.fromisoformat(life.day),
        key=life.key,
        kind=life.kind,
        title=life.title,
        description=life.description,
        description_ja=life.description_ja,
        season=life.season,
        mood_impact=life.mood_impact,
        occurred_at=life.occurred_at,
        shared_in=life.shared_in,
    )
