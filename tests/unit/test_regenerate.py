"""Regenerating a reply ("swipe"): every alternative is an event, one of them is chosen,
nothing is overwritten, and events stored before alternatives were numbered still load."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from companion.domain.conversations import RECENT_TURNS, Conversation
from companion.domain.errors import InvalidInput, MessageNotFound, ReplyNotLatest
from tests.support.mapper import mapper


def conversation_with_reply(text: str = "first take") -> tuple[Conversation, UUID, UUID]:
    conversation = Conversation(user_id=uuid4(), character_id=uuid4())
    message = conversation.send_user_message("hi", client_message_id=None, message_id=uuid4())
    reply = conversation.reply(
        in_reply_to=message,
        text=text,
        model="m",
        latency_ms=5,
        prompt_tokens=1,
        completion_tokens=1,
        fallback=False,
    )
    return conversation, message, reply


def regenerate(conversation: Conversation, reply: UUID, text: str) -> int:
    return conversation.regenerate_reply(
        message_id=reply, text=text, model="m2", latency_ms=7, fallback=False
    )


def test_each_regeneration_is_a_numbered_alternative_and_the_chosen_one() -> None:
    conversation, _, reply = conversation_with_reply()

    assert conversation.alternatives_of(reply) == 1
    assert regenerate(conversation, reply, "second take") == 2
    assert regenerate(conversation, reply, "third take") == 3

    assert conversation.alternatives_of(reply) == 3
    assert conversation.chosen_of(reply) == 3
    assert conversation.recent_turns()[-1].text == "third take"


def test_choosing_an_earlier_alternative_is_what_the_model_sees_next() -> None:
    conversation, _, reply = conversation_with_reply()
    regenerate(conversation, reply, "second take")

    conversation.choose_reply(message_id=reply, alternative=1)

    assert conversation.chosen_of(reply) == 1
    assert conversation.recent_turns()[-1].text == "first take"
    conversation.choose_reply(message_id=reply, alternative=2)
    assert conversation.recent_turns()[-1].text == "second take"


def test_nothing_is_overwritten_every_alternative_stays_in_the_log(replay: Any) -> None:
    conversation, _, reply = conversation_with_reply()
    regenerate(conversation, reply, "second take")
    conversation.choose_reply(message_id=reply, alternative=1)
    events = conversation.collect_events()

    replied = [e for e in events if isinstance(e, Conversation.CompanionReplied)]
    regenerated = [e for e in events if isinstance(e, Conversation.ReplyRegenerated)]
    chosen = [e for e in events if isinstance(e, Conversation.ReplyChosen)]
    assert [e.text for e in replied] == ["first take"]
    assert [(e.alternative, e.text) for e in regenerated] == [(2, "second take")]
    assert [(e.message_id, e.alternative) for e in chosen] == [(reply, 1)]
    rebuilt = replay(events)
    assert rebuilt.__dict__ == conversation.__dict__


def test_choosing_the_alternative_already_chosen_records_nothing() -> None:
    conversation, _, reply = conversation_with_reply()
    regenerate(conversation, reply, "second take")
    conversation.collect_events()

    conversation.choose_reply(message_id=reply, alternative=2)

    assert conversation.collect_events() == []


def test_a_choice_must_name_an_alternative_the_reply_has() -> None:
    conversation, _, reply = conversation_with_reply()
    regenerate(conversation, reply, "second take")

    for alternative in (0, 3):
        with pytest.raises(InvalidInput):
            conversation.choose_reply(message_id=reply, alternative=alternative)


def test_a_user_message_or_an_unknown_one_has_no_alternatives() -> None:
    conversation, message, _ = conversation_with_reply()

    for message_id in (message, uuid4()):
        with pytest.raises(MessageNotFound):
            regenerate(conversation, message_id, "no")
        with pytest.raises(MessageNotFound):
            conversation.choose_reply(message_id=message_id, alternative=1)


def test_only_the_reply_that_ends_the_conversation_can_be_regenerated_or_chosen() -> None:
    conversation, _, reply = conversation_with_reply()
    regenerate(conversation, reply, "second take")
    conversation.send_user_message("and then?", client_message_id=None, message_id=uuid4())

    with pytest.raises(ReplyNotLatest):
        regenerate(conversation, reply, "rewriting history")
    with pytest.raises(ReplyNotLatest):
        conversation.choose_reply(message_id=reply, alternative=1)
    assert conversation.recent_turns()[-2].text == "second take"


def test_alternatives_are_forgotten_with_the_turn_that_leaves_the_window() -> None:
    conversation, _, reply = conversation_with_reply()
    regenerate(conversation, reply, "second take")
    for n in range(RECENT_TURNS):
        conversation.send_user_message(f"m{n}", client_message_id=None, message_id=uuid4())

    assert conversation.alternatives == {}
    assert conversation.chosen == {}
    with pytest.raises(MessageNotFound):
        regenerate(conversation, reply, "too late")


def old_stored(event: Any, *, drop: str) -> StoredEvent:
    """The event as a version-1 ReplyRegenerated was stored: without `drop`."""
    events = mapper()
    stored = events.to_stored_event(event)
    state = events.transcoder.decode(stored.state)
    assert state.pop("class_version") == 3
    del state[drop]
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=events.transcoder.encode(state),
    )


def test_a_regeneration_stored_before_alternatives_were_numbered_still_loads(
    replay: Any,
) -> None:
    conversation, _, reply = conversation_with_reply()
    regenerate(conversation, reply, "second take")
    regenerate(conversation, reply, "third take")
    events = conversation.collect_events()
    loaded = [
        mapper().to_domain_event(old_stored(e, drop="alternative"))
        if isinstance(e, Conversation.ReplyRegenerated)
        else e
        for e in events
    ]

    assert [getattr(e, "alternative", 0) for e in loaded][-2:] == [None, None]
    rebuilt = replay(loaded)
    assert rebuilt.alternatives_of(reply) == 3
    assert rebuilt.chosen_of(reply) == 3
    assert rebuilt.recent_turns()[-1].text == "third take"
    rebuilt.choose_reply(message_id=reply, alternative=1)
    assert rebuilt.recent_turns()[-1].text == "first take"


def test_a_conversation_snapshotted_before_alternatives_were_kept_still_regenerates() -> None:
    conversation, _, reply = conversation_with_reply()
    del conversation.__dict__["alternatives"]
    del conversation.__dict__["chosen"]

    assert conversation.alternatives_of(reply) == 1
    assert regenerate(conversation, reply, "second take") == 2
    conversation.choose_reply(message_id=reply, alternative=1)
    assert conversation.recent_turns()[-1].text == "first take"
