"""Events and snapshots written before decisions travelled on events read with the old decisions.

Each first-shape event (and a first-shape EmotionState snapshot) is decoded
while every live policy raises: the values filled in come from the frozen
copies of the policies as they were, never from the policies of today.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from companion.domain.characters import Character, Persona
from companion.domain.emotion import EmotionState, Factor, MoodOutcome
from companion.domain.frozen_policies import baseline_v1, expression_v1, mood_expression_v1
from companion.domain.sentiment import Sentiment
from projections.decoding import fields_decoder_for
from tests.support.policies import live_policies_refused

NOON = datetime(2026, 5, 12, 3, tzinfo=UTC)
CHEERFUL = {"kindness": 1.0, "humor": 1.0, "seriousness": 0.0, "activeness": 1.0, "empathy": 0.5}
GLOOMY = {"kindness": 0.0, "humor": 0.0, "seriousness": 1.0, "activeness": 0.0, "empathy": 0.5}


def _mapper() -> Mapper:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


MAPPER = _mapper()


def first_shape(event: Any, *new_fields: str) -> StoredEvent:
    """The event as it was stored before `new_fields` existed (class version 1)."""
    stored = MAPPER.to_stored_event(event)
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    for name in new_fields:
        del state[name]
    return StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, json.dumps(state).encode()
    )


def decoded_both_ways(stored: StoredEvent) -> list[Any]:
    """As the application's mapper decodes it, and as the projection runner does."""
    fast = fields_decoder_for(MAPPER)
    return [
        MAPPER.to_domain_event(stored),
        fast(stored.topic, stored.originator_id, stored.originator_version, stored.state),
    ]


def test_the_frozen_policies_give_what_the_policies_gave_then() -> None:
    assert baseline_v1(CHEERFUL) == 50
    assert baseline_v1(GLOOMY) == -50
    assert [mood_expression_v1(m) for m in (70, 35, 34, -19, -20, -49, -50)] == [
        "joyful",
        "happy",
        "neutral",
        "neutral",
        "sad",
        "sad",
        "angry",
    ]
    small_hours = [{"type": "time", "influence": -3.0, "description": "Sleepy"}]
    assert expression_v1(20, small_hours, {}) == "sleepy"
    assert expression_v1(50, [], {"affection": 0.9}) == "loving"
    assert expression_v1(10, [], {"affection": 0.9}) == "shy"
    assert expression_v1(10, [], {"worry": 0.5, "affection": 0.4}) == "worried"
    assert expression_v1(-30, [], {"anger": 0.7}) == "angry"
    assert expression_v1(0, small_hours, {"surprise": 0.6}) == "surprised"
    assert expression_v1(0, small_hours, {"surprise": 0.4}) == "sleepy"


def test_a_first_shape_character_created_reads_with_the_baseline_decided_then(
    make_persona: Callable[..., Persona],
) -> None:
    character = Character.create(
        character_id=uuid4(), owner_id=uuid4(), persona=make_persona(personality=CHEERFUL)
    )
    (created,) = character.collect_events()
    stored = first_shape(created, "baseline", "baseline_expression")

    with live_policies_refused():
        with pytest.raises(AssertionError, match="live policy"):  # the write side decides anew
            Character.create(character_id=uuid4(), owner_id=uuid4(), persona=character.persona)
        for event in decoded_both_ways(stored):
            assert (event.baseline, event.baseline_expression) == (50, "happy")
            assert (event.baseline, event.baseline_expression) == (
                created.baseline,
                created.baseline_expression,
            )
            assert event.mutate(None).baseline == 50


def test_a_first_shape_persona_update_reads_with_the_baseline_decided_then(
    make_persona: Callable[..., Persona],
) -> None:
    character = Character.create(
        character_id=uuid4(), owner_id=uuid4(), persona=make_persona(personality=CHEERFUL)
    )
    character.update_persona(make_persona(personality=GLOOMY))
    _, updated = character.collect_events()
    stored = first_shape(updated, "baseline", "baseline_expression")

    with live_policies_refused():
        for event in decoded_both_ways(stored):
            assert (event.baseline, event.baseline_expression) == (-50, "angry")
            assert (event.baseline, event.baseline_expression) == (
                updated.baseline,
                updated.baseline_expression,
            )


def test_a_first_shape_started_reads_with_the_expression_of_its_baseline() -> None:
    (started,) = EmotionState(user_id=uuid4(), character_id=uuid4(), baseline=40).collect_events()
    assert started.expression == "happy"
    stored = first_shape(started, "expression")

    with live_policies_refused():
        for event in decoded_both_ways(stored):
            assert event.expression == "happy"
            assert event.mutate(None).expression_name == "happy"


@pytest.mark.parametrize(
    ("after", "factors", "sentiment", "decided"),
    [
        (20, (Factor("time", -3.0, "Sleepy in the small hours"),), None, "sleepy"),
        (50, (), Sentiment(0.8, (("affection", 0.9),)), "loving"),
        (-60, (), Sentiment(-0.9, (("anger", 0.8),)), "angry"),
        (80, (), Sentiment(0.9), "joyful"),
    ],
)
def test_a_first_shape_mood_change_reads_with_the_expression_decided_then(
    after: int, factors: tuple[Factor, ...], sentiment: Sentiment | None, decided: str
) -> None:
    state = EmotionState(user_id=uuid4(), character_id=uuid4(), baseline=0)
    state.record(MoodOutcome(0, after, factors), cause="message", at=NOON, sentiment=sentiment)
    _, changed = state.collect_events()
    assert changed.expression == decided
    stored = first_shape(changed, "expression")

    with live_policies_refused():
        with pytest.raises(AssertionError, match="live policy"):  # the write side decides anew
            state.record(MoodOutcome(0, after, factors), cause="message", at=NOON)
        for event in decoded_both_ways(stored):
            assert event.expression == decided


def test_a_first_shape_snapshot_loads_with_the_expression_of_its_last_change() -> None:
    state = EmotionState(user_id=uuid4(), character_id=uuid4(), baseline=0)
    small_hours = (Factor("time", -3.0, "Sleepy in the small hours"),)
    state.record(MoodOutcome(0, 20, small_hours), cause="message", at=NOON)
    assert state.expression.name == "sleepy"
    stored = MAPPER.to_stored_event(Snapshot.take(state))
    snapshot = json.loads(stored.state)
    assert snapshot["state"].pop("class_version") == 2
    del snapshot["state"]["expression_name"]  # as a snapshot taken before v2 holds it
    old = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, json.dumps(snapshot).encode()
    )

    with live_policies_refused():
        loaded = MAPPER.to_domain_event(old).mutate(None)
        assert loaded.expression_name == "sleepy"
    assert loaded.expression == state.expression
    assert {k: v for k, v in vars(loaded).items() if k != "_pending_events"} == {
        k: v for k, v in vars(state).items() if k != "_pending_events"
    }
