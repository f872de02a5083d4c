"""The emotion engines: the current one replays the stored moods exactly, every one stays
in range, and each variant changes what it says it changes."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.app.cli.replay_emotions import EngineVersion
from companion.app.fake_unit_of_work import FakeUnitOfWork
from companion.app.history.emotion_replay import compare, stored_trajectory
from companion.domain.characters import TRAITS, Character, Persona, Personality
from companion.domain.emotion import (
    MAX_MOOD,
    MIN_MOOD,
    Cycle,
    EmotionState,
    Weather,
    baseline,
    feel_daily_event,
    react,
)
from companion.domain.emotion_engines import (
    CURRENT_ENGINE,
    ENGINES,
    EmotionEngine,
    Interaction,
    UnknownEngine,
    engine,
    replay,
)
from companion.domain.sentiment import EMOTIONS, Sentiment
from companion.domain.users import User
from tests.support.personas import PERSONA_INPUT

weights = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
personalities = st.builds(Personality, **dict.fromkeys(TRAITS, weights))
sentiments = st.builds(
    Sentiment,
    st.floats(min_value=-1.0, max_value=1.0, allow_nan=False),
    st.dictionaries(st.sampled_from(EMOTIONS), weights, max_size=3).map(
        lambda d: tuple(sorted(d.items()))
    ),
)
gaps = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9))
zones = st.sampled_from(["UTC", "Asia/Tokyo", "America/New_York"])
skies = st.one_of(st.none(), st.builds(Weather, st.sampled_from(["sunny", "rainy", "stormy"])))
cycles = st.one_of(st.none(), st.builds(Cycle, st.dates(date(2025, 1, 1)), st.integers(21, 35)))
START = datetime(2026, 3, 1, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    """One thing that moves the mood: a message (with its sentiment) or a day's event."""

    gap: timedelta
    sentiment: Sentiment | None  # None: a day's event of `impact`
    impact: int
    weather: Weather | None
    cycle: Cycle | None  # opted into just before, when set


steps = st.lists(
    st.builds(
        Step,
        gaps,
        st.one_of(st.none(), sentiments, sentiments),
        st.integers(-9, 9),
        skies,
        cycles,
    ),
    max_size=12,
)


def lived(
    personality: Personality, timezone: str, story: list[Step]
) -> tuple[FakeUnitOfWork, User, Character]:
    """The story stored as the chat turn and the daily-life scheduler store it."""
    uow = FakeUnitOfWork()
    user, claim = User.register(
        user_id=uuid4(),
        email=f"{uuid4().hex}@example.com",
        password_hash="x",
        name="Mei",
        nickname="Mei",
        timezone=timezone,
    )
    persona = Persona.parse(**{**PERSONA_INPUT, "personality": vars(personality)})
    character = Character.create(character_id=uuid4(), owner_id=user.id, persona=persona)
    uow.save(user, claim, character)
    towards = baseline(persona.personality)
    state = EmotionState(user_id=user.id, character_id=character.id, baseline=towards)
    now = START
    for step in story:
        now += step.gap
        if step.cycle is not None:
            state.opt_into_cycle(step.cycle)
        if step.sentiment is None:
            outcome = feel_daily_event(
                mood=state.mood,
                baseline_mood=towards,
                last_change_at=state.updated_at,
                impact=step.impact,
                title="A day's event",
                now=now,
            )
            state.record(outcome, cause="daily_event", at=now)
        else:
            outcome = react(
                mood=state.mood,
                baseline_mood=towards,
                last_change_at=state.updated_at,
                sentiment=step.sentiment,
                personality=persona.personality,
                now=now,
                timezone=timezone,
                weather=step.weather,
                cycle=state.cycle,
            )
            state.record(outcome, cause="message", at=now, sentiment=step.sentiment)
    uow.save(state)
    return uow, user, character


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(personalities, zones, steps)
def test_replaying_with_the_current_engine_reproduces_the_stored_trajectory(
    personality: Personality, timezone: str, story: list[Step]
) -> None:
    uow, user, character = lived(personality, timezone, story)
    trajectory = stored_trajectory(uow, user_id=user.id, character_id=character.id)
    assert trajectory is not None

    difference = compare(engine(CURRENT_ENGINE), trajectory)

    assert list(difference.replayed) == list(trajectory.stored)
    assert (difference.max_abs_difference, difference.expression_changes) == (0, 0)
    assert difference.changes == len(story)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(personalities, zones, steps, st.data())
def test_a_replay_from_a_moment_on_starts_from_the_stored_mood_then(
    personality: Personality, timezone: str, story: list[Step], data: st.DataObject
) -> None:
    uow, user, character = lived(personality, timezone, story)
    whole = stored_trajectory(uow, user_id=user.id, character_id=character.id)
    assert whole is not None
    cut = data.draw(st.integers(0, len(whole.stored)))
    since = whole.stored[cut].at if cut < len(whole.stored) else START + timedelta(days=999)

    part = stored_trajectory(uow, user_id=user.id, character_id=character.id, since=since)

    assert part is not None
    assert list(part.stored) == [p for p in whole.stored if p.at >= since]
    assert list(compare(engine(CURRENT_ENGINE), part).replayed) == list(part.stored)


any_engine = st.one_of(
    st.sampled_from(list(ENGINES.values())),
    st.builds(
        EmotionEngine,
        st.just("what-if"),
        st.just("any weights"),
        st.floats(0, 20, allow_nan=False),
        st.floats(0, 20, allow_nan=False),
        st.floats(0, 20, allow_nan=False),
        st.timedeltas(timedelta(minutes=1), timedelta(days=30)),
    ),
)
interactions = st.lists(
    st.builds(
        Interaction,
        cause=st.sampled_from(["message", "daily_event"]),
        at=st.datetimes(datetime(2025, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
        personality=personalities,
        sentiment=sentiments,
        timezone=zones,
        weather=skies,
        cycle=cycles,
        impact=st.integers(-100, 100),
    ),
    max_size=20,
).map(lambda seen: sorted(seen, key=lambda i: i.at))


@given(any_engine, interactions, st.integers(MIN_MOOD, MAX_MOOD))
def test_moods_stay_in_range_under_any_engine(
    chosen: EmotionEngine, seen: list[Interaction], mood: int
) -> None:
    for point in replay(chosen, seen, mood=mood):
        assert MIN_MOOD <= point.mood <= MAX_MOOD


def warm_message(at: datetime) -> Interaction:
    return Interaction(
        cause="message",
        at=at,
        personality=Personality(),
        sentiment=Sentiment(0.8, (("affection", 0.7),)),
        timezone="UTC",
    )


def test_the_gentle_engine_feels_a_message_half_as_much() -> None:
    noon = datetime(2026, 3, 1, 12, tzinfo=UTC)  # the time of day weighs nothing at noon
    start = baseline(Personality())

    (current,) = replay(engine("v1"), [warm_message(noon)], mood=start)
    (gentle,) = replay(engine("v1-gentle"), [warm_message(noon)], mood=start)

    assert current.mood - start > 10
    assert abs((gentle.mood - start) - (current.mood - start) / 2) <= 1


def test_the_slow_decay_engine_lets_a_mood_linger_longer() -> None:
    quiet = datetime(2026, 3, 1, 12, tzinfo=UTC)
    day_later = Interaction(
        cause="daily_event", at=quiet + timedelta(days=1), personality=Personality()
    )
    start = baseline(Personality()) + 40

    (current,) = replay(engine("v1"), [day_later], mood=start, last_change_at=quiet)
    (slow,) = replay(engine("v1-slow-decay"), [day_later], mood=start, last_change_at=quiet)

    assert current.mood == start - 20  # half-way back in a day
    assert slow.mood == start - round(40 * (1 - 0.5 ** (1 / 3)))


def test_an_unregistered_engine_is_refused_with_the_registered_ones() -> None:
    with pytest.raises(UnknownEngine, match="v1-gentle"):
        engine("v9")


def test_the_command_line_offers_every_registered_engine() -> None:
    assert typing.get_args(EngineVersion) == tuple(ENGINES)
