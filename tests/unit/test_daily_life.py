"""Daily life: a deterministic draw per character and day, seasons respected, shared once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from companion.domain.daily_life import KINDS, TEMPLATES, DailyLife, candidates, draw, season_of
from companion.domain.identity import daily_life_id

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))
ids = st.uuids()
AT = datetime(2026, 4, 3, 8, tzinfo=UTC)


@given(ids, days, st.text(max_size=10))
def test_the_draw_is_the_same_for_the_same_character_day_and_seed(
    character: UUID, day: date, seed: str
) -> None:
    assert draw(character, day, seed) == draw(character, day, seed)


@given(ids, days, st.sampled_from(["barista", "university student", None]))
def test_a_drawn_event_fits_the_season_and_the_character(
    character: UUID, day: date, occupation: str | None
) -> None:
    drawn = draw(character, day, "seed", occupation=occupation)
    if drawn is not None:
        assert drawn.season in (None, season_of(day))
        student = occupation == "university student"
        assert drawn.kind != ("work" if student else "school")


def test_the_seed_and_the_day_change_what_happens() -> None:
    character = uuid4()
    year = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    lived = [draw(character, day, "a") for day in year]
    assert [draw(character, day, "b") for day in year] != lived
    happened = [event for event in lived if event is not None]
    assert 0 < len(happened) < 365  # some days are quiet
    assert {e.kind for e in happened} >= {"work", "friends", "family", "hobby", "random"}


FORTNIGHT_SCRIPT = """
import json
from datetime import date, timedelta
from uuid import UUID
from companion.domain.daily_life import draw
character = UUID("12345678-1234-5678-1234-567812345678")
days = [date(2026, 4, 1) + timedelta(days=n) for n in range(14)]
print(json.dumps([getattr(draw(character, day, "sakura"), "key", None) for day in days]))
"""

FORTNIGHT = [
    "work-thanks",
    None,
    None,
    "friends-quarrel",
    "friends-lunch",
    None,
    None,
    "friends-lunch",
    None,
    None,
    None,
    "family-call",
    "spring-sakura",
    None,
]
"""What that character lives from 2026-04-01 with the seed "sakura": fixed for good."""


def drawn_in_a_process_with_hash_seed(hash_seed: str) -> list[str | None]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", FORTNIGHT_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    drawn: list[str | None] = json.loads(result.stdout)
    return drawn


def test_every_process_draws_the_same_day_whatever_its_hash_seed() -> None:
    """The API and the worker are processes of their own: the draw may not depend on
    anything randomised per process, such as `hash()` of a string or a date."""
    one, other = drawn_in_a_process_with_hash_seed("1"), drawn_in_a_process_with_hash_seed("2")
    assert one == other
    assert one == FORTNIGHT


def test_the_catalogue_covers_the_seeds_kinds_and_every_season() -> None:
    assert {t.kind for t in TEMPLATES} == set(KINDS)
    assert {t.season for t in TEMPLATES} >= {"spring", "summer", "autumn", "winter", None}
    assert all(0 < t.probability < 1 and t.mood_impact != 0 for t in TEMPLATES)
    assert candidates(date(2026, 4, 1), student=False) != candidates(
        date(2026, 8, 1), student=False
    )


def test_a_day_has_one_identity_whoever_lives_it() -> None:
    character, user = uuid4(), uuid4()
    template = TEMPLATES[0]
    one = DailyLife.occur(
        character_id=character, user_id=user, day=date(2026, 4, 3), template=template, at=AT
    )
    other = DailyLife.occur(
        character_id=character, user_id=user, day=date(2026, 4, 3), template=template, at=AT
    )
    assert one.id == other.id == daily_life_id(character, "2026-04-03")
    assert one.id != daily_life_id(character, "2026-04-04")


def test_an_event_is_shared_once(replay: Callable[[Iterable[Any]], Any]) -> None:
    life = DailyLife.occur(
        character_id=uuid4(), user_id=uuid4(), day=date(2026, 4, 3), template=TEMPLATES[4], at=AT
    )
    assert not life.shared
    first = uuid4()
    life.share(message_id=first, at=AT)
    life.share(message_id=uuid4(), at=AT)
    events = life.collect_events()
    assert [type(e).__name__ for e in events] == ["DailyEventOccurred", "DailyEventShared"]
    replayed = replay(events)
    assert replayed.shared_in == first
    assert (replayed.season, replayed.mood_impact, replayed.kind) == ("spring", 6, "friends")
