"""The mood policy: in range, monotone in sentiment, decaying to the baseline, replayable."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.characters import TRAITS, Personality
from companion.domain.emotion import (
    MAX_MOOD,
    MIN_MOOD,
    Cycle,
    EmotionState,
    Weather,
    baseline,
    decayed,
    feel_daily_event,
    react,
)
from companion.domain.errors import InvalidInput
from companion.domain.sentiment import EMOTIONS, Sentiment

weights = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
personalities = st.builds(Personality, **dict.fromkeys(TRAITS, weights))
scores = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
emotion_weights = st.dictionaries(st.sampled_from(EMOTIONS), weights, max_size=4).map(
    lambda d: tuple(sorted(d.items()))
)
moods = st.integers(min_value=MIN_MOOD, max_value=MAX_MOOD)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from(["UTC", "Asia/Tokyo", "America/New_York", "Europe/Paris", "Nowhere/Zone"])
gaps = st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)))
skies = st.one_of(st.none(), st.builds(Weather, st.sampled_from(["sunny", "rainy", "stormy"])))
cycles = st.one_of(st.none(), st.builds(Cycle, st.dates(), st.integers(21, 35)))
NOON_UTC = datetime(2026, 5, 12, 3, tzinfo=UTC)  # noon in Tokyo


def kind(score: float = 0.7) -> Sentiment:
    return Sentiment(score, (("affection", 0.6),))


def outcome(**changes: Any) -> Any:
    inputs: dict[str, Any] = {
        "mood": 10,
        "baseline_mood": 10,
        "last_change_at": None,
        "sentiment": Sentiment(0.0),
        "personality": Personality(),
        "now": NOON_UTC,
        "timezone": "Asia/Tokyo",
    }
    return react(**{**inputs, **changes})


@given(moods, moods, gaps, scores, emotion_weights, personalities, moments, zones, skies, cycles)
def test_mood_never_leaves_its_range(
    mood: int,
    base: int,
    gap: timedelta | None,
    score: float,
    emotions: tuple[tuple[str, float], ...],
    personality: Personality,
    now: datetime,
    zone: str,
    weather: Weather | None,
    cycle: Cycle | None,
) -> None:
    result = react(
        mood=mood,
        baseline_mood=base,
        last_change_at=None if gap is None else now - gap,
        sentiment=Sentiment(score, emotions),
        personality=personality,
        now=now,
        timezone=zone,
        weather=weather,
        cycle=cycle,
    )
    assert MIN_MOOD <= result.after <= MAX_MOOD
    assert result.before == mood


@given(moods, scores, scores, emotion_weights, personalities, moments, zones)
def test_a_kinder_message_never_leaves_a_lower_mood(
    mood: int,
    one: float,
    other: float,
    emotions: tuple[tuple[str, float], ...],
    personality: Personality,
    now: datetime,
    zone: str,
) -> None:
    low, high = sorted((one, other))
    common = {"mood": mood, "personality": personality, "now": now, "timezone": zone}
    assert (
        outcome(sentiment=Sentiment(low, emotions), **common).after
        <= outcome(sentiment=Sentiment(high, emotions), **common).after
    )


@given(moods, moods, st.integers(0, 24 * 60), st.integers(0, 24 * 60))
def test_decay_only_ever_brings_the_mood_closer_to_the_baseline(
    mood: int, base: int, shorter: int, extra: int
) -> None:
    first = decayed(mood, base, timedelta(hours=shorter))
    later = decayed(mood, base, timedelta(hours=shorter + extra))
    assert abs(later - base) <= abs(first - base) <= abs(mood - base)


@given(moods, personalities)
def test_a_month_of_silence_returns_the_mood_to_the_baseline(
    mood: int, personality: Personality
) -> None:
    base = baseline(personality)
    now = datetime(2026, 5, 12, 3, tzinfo=UTC)  # the middle of the day in UTC: no time pull
    result = react(
        mood=mood,
        baseline_mood=base,
        last_change_at=now - timedelta(days=30),
        sentiment=Sentiment(0.0),
        personality=personality,
        now=now + timedelta(hours=9),
        timezone="UTC",
    )
    assert result.after == base


@given(personalities)
def test_the_baseline_is_a_mood(personality: Personality) -> None:
    assert MIN_MOOD <= baseline(personality) <= MAX_MOOD


def test_kind_and_lively_personas_rest_higher_than_serious_ones() -> None:
    warm = Personality(kindness=0.9, humor=0.7, seriousness=0.1, activeness=0.8, empathy=0.5)
    stern = Personality(kindness=0.2, humor=0.1, seriousness=0.9, activeness=0.2, empathy=0.5)
    assert baseline(warm) > baseline(stern)


def test_every_change_explains_itself_with_its_factors() -> None:
    result = outcome(
        sentiment=kind(),
        last_change_at=NOON_UTC - timedelta(hours=30),
        mood=60,
        weather=Weather("sunny"),
        cycle=Cycle(date(2026, 5, 1)),
    )
    types = [f.type for f in result.factors]
    assert types == ["decay", "interaction", "personality", "time", "weather", "cycle"]
    assert all(f.description for f in result.factors)
    assert result.after == round(60 + sum(f.influence for f in result.factors))


def test_weather_and_cycle_count_only_when_given() -> None:
    plain = outcome(sentiment=kind())
    assert {f.type for f in plain.factors} == {"interaction", "personality", "time"}


def test_empathy_amplifies_the_response_to_the_users_sadness() -> None:
    sad = Sentiment(-0.4, (("sadness", 0.9),))
    cold = outcome(sentiment=sad, personality=Personality(empathy=0.0))
    warm = outcome(sentiment=sad, personality=Personality(empathy=1.0))
    assert warm.after < cold.after
    assert any("Empathy" in f.description for f in warm.factors)


def test_humor_softens_teasing() -> None:
    tease = Sentiment(-0.5, (("teasing", 0.9),))
    earnest = outcome(sentiment=tease, personality=Personality(humor=0.0))
    playful = outcome(sentiment=tease, personality=Personality(humor=1.0))
    assert playful.after > earnest.after


def test_the_small_hours_of_the_users_night_weigh_on_the_mood() -> None:
    three_am_tokyo = datetime(2026, 5, 11, 18, tzinfo=UTC)
    night = outcome(now=three_am_tokyo)
    (time_factor,) = [f for f in night.factors if f.type == "time"]
    assert time_factor.influence < 0
    same_moment_in_paris = outcome(now=three_am_tokyo, timezone="Europe/Paris")
    assert same_moment_in_paris.after > night.after


def test_three_kind_messages_lift_the_mood() -> None:
    state = EmotionState(user_id=uuid4(), character_id=uuid4(), baseline=10)
    now = NOON_UTC
    for minute in range(3):
        now += timedelta(minutes=minute + 1)
        state.record(
            outcome(
                mood=state.mood,
                last_change_at=state.updated_at,
                sentiment=kind(),
                now=now,
            ),
            cause="message",
            at=now,
            sentiment=kind(),
        )
    assert state.mood >= 40


def test_a_week_of_silence_brings_the_mood_back_towards_the_baseline() -> None:
    after_a_quarrel = outcome(mood=-60, baseline_mood=20, sentiment=Sentiment(0.0))
    a_week_later = outcome(
        mood=after_a_quarrel.after,
        baseline_mood=20,
        last_change_at=NOON_UTC,
        now=NOON_UTC + timedelta(days=7),
    )
    assert abs(a_week_later.after - 20) <= 3
    (decay,) = [f for f in a_week_later.factors if f.type == "decay"]
    assert decay.influence > 70
    assert "7 days" in decay.description


def test_a_daily_event_moves_the_mood_by_its_impact() -> None:
    result = feel_daily_event(
        mood=10,
        baseline_mood=10,
        last_change_at=None,
        impact=-6,
        title="A surprise quiz",
        now=NOON_UTC,
    )
    assert result.after == 4
    assert [(f.type, f.description) for f in result.factors] == [("daily_event", "A surprise quiz")]


@given(st.lists(st.tuples(scores, st.integers(1, 72 * 60)), min_size=1, max_size=12))
def test_replaying_the_events_gives_the_same_state(
    replay: Callable[[Iterable[Any]], Any], messages: list[tuple[float, int]]
) -> None:
    state = EmotionState(user_id=uuid4(), character_id=uuid4(), baseline=5)
    now = NOON_UTC
    for score, minutes in messages:
        now += timedelta(minutes=minutes)
        state.record(
            outcome(
                mood=state.mood,
                baseline_mood=5,
                last_change_at=state.updated_at,
                sentiment=Sentiment(score),
                now=now,
            ),
            cause="message",
            at=now,
            sentiment=Sentiment(score),
        )
    events = state.collect_events()
    replayed = replay(events)
    assert (replayed.mood, replayed.last_factors, replayed.updated_at, replayed.version) == (
        state.mood,
        state.last_factors,
        state.updated_at,
        state.version,
    )
    changes = events[1:]
    assert all(c.before == p.after for p, c in itertools.pairwise(changes))


def test_a_character_opts_in_to_a_cycle_and_out_again(
    replay: Callable[[Iterable[Any]], Any],
) -> None:
    state = EmotionState(user_id=uuid4(), character_id=uuid4(), baseline=5)
    assert state.cycle is None
    state.opt_into_cycle(Cycle(date(2026, 5, 1), 30))
    state.opt_into_cycle(Cycle(date(2026, 5, 1), 30))
    assert state.cycle == Cycle(date(2026, 5, 1), 30)
    assert replay(state.collect_events()).cycle == Cycle(date(2026, 5, 1), 30)
    state.opt_into_cycle(None)
    assert state.cycle is None
    assert len(state.collect_events()) == 1


def test_a_cycle_of_an_impossible_length_is_refused() -> None:
    state = EmotionState(user_id=uuid4(), character_id=uuid4(), baseline=5)
    with pytest.raises(InvalidInput):
        state.opt_into_cycle(Cycle(date(2026, 5, 1), 3))
