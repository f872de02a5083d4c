"""Every event a read model handles lands in its rows, within one batch or across many."""

from __future__ import annotations

from uuid import uuid4

import pytest

from companion.app.bootstrap import Companion
from companion.domain.characters import Character, Persona
from companion.domain.conversations import Conversation
from companion.domain.identity import conversation_id
from tests.support.companions import Companions
from tests.support.personas import HANA


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


def write_story(companion: Companion) -> tuple[Conversation, Character, dict[str, object]]:
    """Every kind of conversation and character event, saved one aggregate at a time."""
    app = companion.application
    user_id = companion.accounts.register(
        email=f"{uuid4().hex[:8]}@example.com", password="0123456789ab", name="A", nickname="A"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    character = app.repository.get(character_id)
    conversation = Conversation(user_id=user_id, character_id=character_id)
    first = conversation.send_user_message("first", client_message_id=None, message_id=uuid4())
    reply = conversation.reply(
        in_reply_to=first,
        text="a reply",
        model="m",
        latency_ms=5,
        prompt_tokens=1,
        completion_tokens=1,
        fallback=False,
    )
    companion.uow.save(conversation)
    conversation.regenerate_reply(
        message_id=reply, text="a better reply", model="m2", latency_ms=7, fallback=True
    )
    conversation.regenerate_reply(
        message_id=reply, text="a third take", model="m3", latency_ms=9, fallback=False
    )
    conversation.choose_reply(message_id=reply, alternative=2)
    voice = uuid4()
    conversation.receive_voice(
        message_id=voice, audio_ref="blob:abc", transcript="said aloud", duration_ms=900
    )
    conversation.speak_reply(message_id=reply, audio_ref="blob:def", voice="v", duration_ms=800)
    conversation.mark_read(reply)
    companion.uow.save(conversation)
    character.update_persona(Persona.parse(**{**HANA, "nickname": "Hana-chan"}))
    character.change_relationship_level(3, reason="a week of talks")
    item = uuid4()
    character.equip("hair", item)
    companion.uow.save(character)
    return conversation, character, {"reply": reply, "voice": voice, "item": item}


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_every_handled_event_shows_in_the_read_models(
    companions: Companions, batch_size: int
) -> None:
    companion = companions(projection_batch_size=batch_size)
    conversation, character, ids = write_story(companion)
    companion.runner.run_once()

    conv_id = conversation_id(conversation.user_id, conversation.character_id)
    page = companion.read_models.conversations.messages(
        companion.views, conv_id, before=None, limit=10
    )
    by_id = {m.message_id: m for m in page.messages}
    reply = by_id[ids["reply"]]  # type: ignore[index]
    assert (reply.text, reply.model, reply.fallback, reply.is_read) == (
        "a better reply",
        "m2",
        True,
        True,
    )
    assert (reply.alternatives, reply.chosen_alternative) == (3, 2)
    takes = companion.read_models.conversations.alternatives(
        companion.views, conv_id, reply.message_id
    )
    assert [(a.alternative, a.text, a.model) for a in takes] == [
        (1, "a reply", "m"),
        (2, "a better reply", "m2"),
        (3, "a third take", "m3"),
    ]
    voice = by_id[ids["voice"]]  # type: ignore[index]
    assert (voice.kind, voice.text, voice.sender) == ("voice", "said aloud", "user")
    summary = companion.read_models.conversations.conversation(companion.views, conv_id)
    assert summary is not None
    assert summary.message_count == 3
    assert summary.last_message_preview == "said aloud"

    view = companion.read_models.characters.get(companion.views, character.owner_id, character.id)
    assert view is not None
    assert view.persona["nickname"] == "Hana-chan"
    assert view.relationship_level == 3
    assert view.equipped == {"hair": str(ids["item"])}

    for projection in companion.read_models.all():
        live = projection.dump(companion.views)
        companion.runner.rebuild(projection)
        assert projection.dump(companion.views) == live
