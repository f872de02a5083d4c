"""Daily life: a deterministic draw per character and day, seasons respected, shared once."""

from __future__ import annotations

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
