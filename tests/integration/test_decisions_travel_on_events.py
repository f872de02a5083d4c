"""What the write side decided travels on the events: a rebuild copies it, whatever the policies
say by then. On memory, SQLite and PostgreSQL.

A story is written through the application; then the baseline and expression
policies change (every answer another than before, wherever a module holds
them) and the emotion_states read model is rebuilt from the log. Its rows are
the rows it had, which are the decisions on the events, and none of them is
what the changed policies would give.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from companion.app.bootstrap import Companion
from companion.domain.characters import Character, Persona
from companion.domain.emotion import EmotionState
from companion.domain.identity import emotion_state_id
from projections.store import as_uuid
from tests.support.clock import Clock
from tests.support.companions import Companions
from tests.support.personas import PERSONA_INPUT
from tests.support.policies import (
    CHANGED_POLICIES,
    changed_baseline,
    changed_expression_of_change,
    changed_mood_expression,
    policies_replaced,
)
from tests.support.users import persona, register

START = datetime(2026, 4, 6, 3, tzinfo=UTC)  # the small hours in UTC, the user's zone
TEXTS = (
    "Thank you, you are wonderful and I love you!",
    "I'm so worried, my cat is sick and I feel lonely.",
    "I hate you. You are awful and boring.",
    "Wow, really?! I can't believe it!",
    "Thank you, you are wonderful and I love you!",
)
GLOOMY = Persona.parse(
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


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


def write_story(companion: Companion, clock: Clock) -> tuple[UUID, UUID, UUID]:
    """A user; a character talked to by night and by day, whose persona changes; one never."""
    user = register(companion)
    talked, _ = companion.characters.create_character(user_id=user, persona=persona())
    quiet, _ = companion.characters.create_character(user_id=user, persona=persona("Ren Kato"))
    for text in TEXTS:
        clock.advance(minutes=10)
        companion.chat.send_message(user_id=user, character_id=talked, text=text)
    character = companion.application.repository.get(talked)
    character.update_persona(GLOOMY)
    companion.uow.save(character)
    clock.now = START + timedelta(hours=9)
    for text in TEXTS[:2]:
        clock.advance(minutes=10)
        companion.chat.send_message(user_id=user, character_id=talked, text=text)
    return user, talked, quiet


def logged(companion: Companion) -> list[Any]:
    app = companion.application
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    return [app.mapper.to_domain_event(n) for n in notifications]


def replayed(companion: Companion, aggregate_id: UUID) -> Any:
    """The aggregate from its events alone: no cache, no snapshot."""
    aggregate = None
    for domain_event in companion.application.events.get(aggregate_id):
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def test_a_rebuild_after_the_policies_change_shows_what_was_decided(
    companions: Companions,
) -> None:
    companion = companions()
    clock = Clock(START)
    companion.uow.clock = clock
    user, talked, quiet = write_story(companion, clock)
    companion.runner.run_once()
    states = companion.read_models.emotion_states
    live = states.dump(companion.views)
    events = logged(companion)
    changes = {
        (e.originator_id, e.originator_version): e
        for e in events
        if isinstance(e, EmotionState.MoodChanged)
    }
    assert len(changes) == len(TEXTS) + 2
    assert len({e.expression for e in changes.values()}) >= 3, "a story of one face proves little"
    (persona_updated,) = [e for e in events if isinstance(e, Character.PersonaUpdated)]
    (quiet_created,) = [
        e for e in events if isinstance(e, Character.Created) and e.originator_id == quiet
    ]

    with policies_replaced(CHANGED_POLICIES) as replaced:
        assert replaced >= len(CHANGED_POLICIES)
        companion.runner.rebuild(states)
        rebuilt = states.dump(companion.views)
        talked_state = replayed(companion, emotion_state_id(user, talked))
        talked_character = replayed(companion, talked)

    assert rebuilt == live
    history = rebuilt[states.history_table]
    assert len(history) == len(changes)
    for row in history:
        decided = changes[(as_uuid(row["state_id"]), int(row["version"]))]
        changed = changed_expression_of_change(decided.after, decided.factors, decided.emotions)
        assert row["expression"] == decided.expression != changed.name

    rows = {as_uuid(r["character_id"]): r for r in rebuilt[states.states_table]}
    last = max(changes.values(), key=lambda e: e.originator_version)
    assert rows[talked]["expression"] == last.expression
    assert rows[talked]["baseline"] == persona_updated.baseline
    assert rows[talked]["baseline"] != changed_baseline(GLOOMY.personality)
    quiet_row = rows[quiet]
    assert quiet_row["mood"] == quiet_row["baseline"] == quiet_created.baseline
    assert quiet_row["baseline"] != changed_baseline(persona().personality)
    assert quiet_row["expression"] == quiet_created.baseline_expression
    assert quiet_row["expression"] != changed_mood_expression(quiet_created.baseline)

    # The write side reads the same decisions back from its events.
    assert talked_state.expression.name == last.expression
    assert talked_character.baseline == persona_updated.baseline
