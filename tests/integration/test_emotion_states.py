"""The emotion_states read model and the daily-life scheduler, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from companion.app.bootstrap import Companion
from companion.app.daily_life import DailyLifeScheduler, feel_neglect, live_day
from companion.domain.characters import Character, Persona
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.daily_life import DailyLife, draw
from companion.domain.emotion import Cycle, EmotionState, baseline, react
from companion.domain.identity import daily_life_id
from companion.domain.sentiment import Sentiment
from tests.support.clock import Clock
from tests.support.companions import Companions
from tests.support.concurrency import run_together
from tests.support.personas import PERSONA_INPUT
from tests.support.read_models import dumps
from tests.support.users import persona, register

KIND = "Thank you, you are wonderful and I love you!"
HURT = "I hate you. You are awful and boring."
START = datetime(2026, 4, 6, 3, tzinfo=UTC)  # noon in Tokyo
SEED = "companion"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


def with_character(companion: Companion, email: str = "aoi@example.org") -> tuple[UUID, UUID]:
    user_id = register(companion, email)
    character_id, _ = companion.characters.create_character(user_id=user_id, persona=persona())
    return user_id, character_id


def talk(companion: Companion, clock: Clock, user: UUID, character: UUID, *texts: str) -> None:
    for text in texts:
        clock.now += timedelta(minutes=10)
        companion.chat.send_message(user_id=user, character_id=character, text=text)


def event_day(character: UUID, after: date) -> date:
    """The first day from `after` on which this character's life has an event."""
    day = after
    while draw(character, day, SEED, occupation=persona().occupation) is None:
        day += timedelta(days=1)
    return day


def test_every_mood_change_lands_in_the_state_and_its_history(companions: Companions) -> None:
    companion = companions()
    clock = Clock(START)
    companion.uow.clock = clock
    user, character = with_character(companion)
    companion.runner.run_once()
    states = companion.read_models.emotion_states
    base = baseline(persona().personality)
    first = states.current(companion.views, user, character)
    assert first is not None
    assert (first.mood, first.baseline, first.factors, first.cause) == (base, base, [], None)

    talk(companion, clock, user, character, KIND, KIND, HURT)
    companion.runner.run_once()

    aggregate = companion.feelings.emotion_state(user, character)
    assert aggregate is not None
    now = states.current(companion.views, user, character)
    assert now is not None
    assert (now.mood, now.factors, now.expression, now.updated_at) == (
        aggregate.mood,
        aggregate.last_factors,
        aggregate.expression.name,
        clock.now,
    )
    points = states.history(companion.views, user, character, since=None, until=None, limit=10)
    assert [p.at for p in points] == [START + timedelta(minutes=10 * i) for i in (1, 2, 3)]
    assert points[0].mood < points[1].mood > points[2].mood
    assert points[-1].mood == aggregate.mood

    middle = states.at(companion.views, user, character, START + timedelta(minutes=25))
    assert middle is not None
    assert middle.mood == points[1].mood
    before = states.at(companion.views, user, character, START)
    assert before is not None
    assert (before.mood, before.factors) == (base, [])
    assert (
        states.at(companion.views, register(companion, "ren@example.org"), character, START) is None
    )

    live = dumps(companion)
    companion.runner.rebuild(companion.read_models.emotion_states)
    assert dumps(companion) == live


def test_a_level_change_is_saved_with_the_mood_that_caused_it(companions: Companions) -> None:
    companion = companions()
    clock = Clock(START)
    companion.uow.clock = clock
    user, character = with_character(companion)

    talk(companion, clock, user, character, *[KIND] * 6)

    level = companion.characters.character(user_id=user, character_id=character)
    assert level.relationship_level >= 2
    changes = companion.application.recorder.select_notifications(
        start=1, limit=1000, topics=[get_topic(Character.RelationshipLevelChanged)]
    )
    assert changes
    moods = companion.application.recorder.select_notifications(
        start=1, limit=1000, topics=[get_topic(EmotionState.MoodChanged)]
    )
    # Saved in one atomic save with a MoodChanged: right after one in the log.
    assert {c.id - 1 for c in changes} <= {m.id for m in moods}
    companion.runner.run_once()
    view = companion.read_models.characters.get(companion.views, user, character)
    assert view is not None
    assert view.relationship_level == level.relationship_level


class Storyteller:
    """A chat model that tells the day's event it is given, or keeps it to itself."""

    name = "storyteller"

    def __init__(self, *, tells: bool) -> None:
        self.tells = tells

    def reply(self, request: ChatRequest) -> ChatReply:
        told = self.tells and request.daily_event is not None
        text = f"Hello! {request.daily_event}" if told else "Hello!"
        return ChatReply(text=text, model=self.name, told_daily_event=told)


def test_a_day_happens_once_and_is_told_in_the_next_reply(companions: Companions) -> None:
    companion = companions()
    user, character = with_character(companion)
    day = event_day(character, START.date())
    moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
    clock = Clock(moment)
    companion.uow.clock = clock
    companion.runner.run_once()
    scheduler = DailyLifeScheduler(
        companion.uow,
        partial(companion.read_models.emotion_states.characters, companion.views),
        seed=SEED,
        interval=60,
        clock=clock,
    )
    other = DailyLifeScheduler(
        companion.uow,
        partial(companion.read_models.emotion_states.characters, companion.views),
        seed=SEED,
        interval=60,
        clock=clock,
    )

    results = run_together(2, lambda i: (scheduler, other)[i].run_once())
    assert sorted(results) == [0, 1]
    assert scheduler.run_once() == 0
    assert other.run_once(moment + timedelta(hours=1)) == 0
    assert not live_day(companion.uow, character_id=character, now=moment, seed=SEED).lived

    life = companion.application.repository.get(daily_life_id(character, day.isoformat()))
    assert isinstance(life, DailyLife)
    assert not life.shared
    state = companion.feelings.emotion_state(user, character)
    assert state is not None
    assert state.last_cause == "daily_event"
    assert state.mood == baseline(persona().personality) + life.mood_impact

    companion.model_call.chat_model = Storyteller(tells=False)
    companion.chat.send_message(user_id=user, character_id=character, text="hello")
    assert not companion.application.repository.get(life.id).shared

    companion.model_call.chat_model = Storyteller(tells=True)
    turn = companion.chat.send_message(user_id=user, character_id=character, text="hi!")
    assert life.description in turn.reply_text
    told = companion.application.repository.get(life.id)
    assert told.shared_in == turn.reply_message_id
    again = companion.chat.send_message(user_id=user, character_id=character, text="hm")
    assert companion.application.repository.get(life.id).version == told.version
    assert again.reply_message_id != turn.reply_message_id

    companion.runner.run_once()
    points = companion.read_models.emotion_states.history(
        companion.views, user, character, since=None, until=None, limit=10
    )
    assert points[0].at == moment
    live = dumps(companion)
    for projection in companion.read_models.all():
        companion.runner.rebuild(projection)
    assert dumps(companion) == live


def test_a_quiet_day_writes_nothing(companions: Companions) -> None:
    companion = companions()
    _, character = with_character(companion)
    day = START.date()
    while draw(character, day, SEED, occupation=persona().occupation) is not None:
        day += timedelta(days=1)
    moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
    head = companion.runner.head()
    assert not live_day(companion.uow, character_id=character, now=moment, seed=SEED).lived
    assert companion.runner.head() == head


def test_a_new_persona_moves_the_baseline_the_mood_returns_to(companions: Companions) -> None:
    companion = companions()
    clock = Clock(START)
    companion.uow.clock = clock
    user, character_id = with_character(companion)
    talk(companion, clock, user, character_id, KIND)
    gloomy = Persona.parse(
        **{
            **PERSONA_INPUT,
            "personality": {
                "kindness": 0.0,
                "humor": 0.0,
                "seriousness": 1.0,
                "activeness": 0.0,
                "empathy": 0.5,
            },
        }
    )
    character = companion.application.repository.get(character_id)
    character.update_persona(gloomy)
    companion.uow.save(character)
    companion.runner.run_once()
    view = companion.read_models.emotion_states.current(companion.views, user, character_id)
    assert view is not None
    assert view.baseline == baseline(gloomy.personality) < view.mood

    clock.now += timedelta(days=30)
    companion.chat.send_message(user_id=user, character_id=character_id, text="ok")
    state = companion.feelings.emotion_state(user, character_id)
    assert state is not None
    assert abs(state.mood - baseline(gloomy.personality)) <= 3


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_every_handled_event_shows_in_the_read_model(
    companions: Companions, batch_size: int
) -> None:
    """Character.Created, PersonaUpdated, EmotionState.Started and MoodChanged, in any batch."""
    companion = companions(projection_batch_size=batch_size)
    app = companion.application
    user, character_id = with_character(companion)
    character = app.repository.get(character_id)
    calmer = Persona.parse(
        **{**PERSONA_INPUT, "personality": {**PERSONA_INPUT["personality"], "seriousness": 0.9}}
    )
    character.update_persona(calmer)
    companion.uow.save(character)
    state = EmotionState(
        user_id=user, character_id=character_id, baseline=baseline(calmer.personality)
    )
    moments = [START + timedelta(hours=h) for h in range(4)]
    for moment in moments:
        outcome = react(
            mood=state.mood,
            baseline_mood=state.baseline,
            last_change_at=state.updated_at,
            sentiment=Sentiment(0.6, (("joy", 0.8),)),
            personality=calmer.personality,
            now=moment,
            timezone="UTC",
        )
        state.record(outcome, cause="message", at=moment, sentiment=Sentiment(0.6))
        companion.uow.save(state)
    companion.runner.run_once()

    view = companion.read_models.emotion_states.current(companion.views, user, character_id)
    assert view is not None
    assert (view.baseline, view.mood, view.cause, view.updated_at) == (
        baseline(calmer.personality),
        state.mood,
        "message",
        moments[-1],
    )
    points = companion.read_models.emotion_states.history(
        companion.views, user, character_id, since=None, until=None, limit=100
    )
    assert [p.at for p in points] == moments
    live = dumps(companion)
    companion.runner.rebuild(companion.read_models.emotion_states)
    assert dumps(companion) == live


def test_only_a_character_that_opts_in_feels_a_cycle(companions: Companions) -> None:
    companion = companions()
    clock = Clock(START)
    companion.uow.clock = clock
    user, character = with_character(companion)

    def factor_types() -> set[str]:
        state = companion.feelings.emotion_state(user, character)
        assert state is not None
        return {f.type for f in state.factors}

    talk(companion, clock, user, character, KIND)
    assert "cycle" not in factor_types()
    companion.feelings.set_cycle(
        user_id=user, character_id=character, cycle=Cycle(START.date(), 28)
    )
    talk(companion, clock, user, character, KIND)
    assert "cycle" in factor_types()
    companion.feelings.set_cycle(user_id=user, character_id=character, cycle=None)
    talk(companion, clock, user, character, KIND)
    assert "cycle" not in factor_types()


def test_neglect_lowers_the_level_without_a_word_from_the_user(companions: Companions) -> None:
    companion = companions()
    clock = Clock(START)
    companion.uow.clock = clock
    user, character = with_character(companion)
    talk(companion, clock, user, character, *[KIND] * 8)
    app = companion.application
    close = companion.characters.character(user_id=user, character_id=character).relationship_level
    assert close >= 3

    assert (
        feel_neglect(companion.uow, character_id=character, now=clock.now + timedelta(days=2))
        is None
    )
    later = clock.now + timedelta(days=30)
    companion.runner.run_once()
    scheduler = DailyLifeScheduler(
        companion.uow,
        partial(companion.read_models.emotion_states.characters, companion.views),
        seed=SEED,
        interval=60,
    )
    scheduler.run_once(later)
    assert feel_neglect(companion.uow, character_id=character, now=later) is None  # once per fall
    fallen = companion.characters.character(user_id=user, character_id=character)
    assert fallen.relationship_level < close
    changes = app.recorder.select_notifications(
        start=1, limit=1000, topics=[get_topic(Character.RelationshipLevelChanged)]
    )
    last = app.mapper.to_domain_event(
        app.recorder.select_events(changes[-1].originator_id, desc=True, limit=1)[0]
    )
    assert last.reason == "drifted apart after 30 days without a word"

    # The user's return applies the same neglect to the bond: the level is not lowered twice.
    clock.now = later
    talk(companion, clock, user, character, "ok")
    assert (
        companion.characters.character(user_id=user, character_id=character).relationship_level
        == fallen.relationship_level
    )


def test_the_offline_companion_tells_her_day_when_the_talk_is_light(
    companions: Companions,
) -> None:
    """With the embedded default model, a lived day reaches the user and is recorded as told."""
    companion = companions()
    user, character = with_character(companion)
    day = event_day(character, START.date())
    moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
    companion.uow.clock = Clock(moment)
    assert live_day(companion.uow, character_id=character, now=moment, seed=SEED).lived
    life = companion.application.repository.get(daily_life_id(character, day.isoformat()))
    assert isinstance(life, DailyLife)

    # Bad news keeps the reply about the user: the day waits.
    worried = companion.chat.send_message(
        user_id=user, character_id=character, text="My cat got sick and I'm scared"
    )
    assert life.description not in worried.reply_text
    assert not companion.application.repository.get(life.id).shared

    chatty = companion.chat.send_message(
        user_id=user, character_id=character, text="Hey, how was your day?"
    )
    assert life.description in chatty.reply_text
    assert companion.application.repository.get(life.id).shared_in == chatty.reply_message_id
