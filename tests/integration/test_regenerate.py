"""Regenerate ("swipe") on each backend: the model is asked again with the same context,
every alternative lands in the read model at any batch size, and a rebuild equals it."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import pytest

from companion.app.bootstrap import Companion
from companion.domain.characters import Persona
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.conversations import Conversation
from companion.domain.identity import conversation_id
from tests.support.companions import Companions
from tests.support.personas import HANA


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


@dataclass
class NumberedTakes:
    """A chat model whose every reply is a new take, and which remembers what it was asked."""

    name: str = "takes"
    asked: list[ChatRequest] = field(default_factory=list)

    def reply(self, request: ChatRequest) -> ChatReply:
        self.asked.append(request)
        return ChatReply(text=f"take {len(self.asked)}", model=self.name)


def with_model(companion: Companion) -> tuple[NumberedTakes, UUID, UUID]:
    model = NumberedTakes()
    companion.model_call.chat_model = model
    user_id = companion.accounts.register(
        email="swipe@example.com", password="0123456789ab", name="A", nickname="A"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return model, user_id, character_id


def test_a_regeneration_asks_the_model_with_the_context_of_the_first_take(
    memory_companions: Companions,
) -> None:
    companion = memory_companions()
    model, user_id, character_id = with_model(companion)
    companion.chat.send_message(user_id=user_id, character_id=character_id, text="good morning")
    turn = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="I played tennis"
    )

    made = companion.alternatives.regenerate_reply(
        user_id=user_id, character_id=character_id, message_id=turn.reply_message_id
    )

    first, again = model.asked[-2], model.asked[-1]
    assert again.user_text == first.user_text == "I played tennis"
    assert again.recent_turns == first.recent_turns
    assert [t.text for t in again.recent_turns] == ["good morning", "take 1"]
    assert (made.alternative, made.alternatives, made.text) == (2, 2, "take 3")
    chosen = companion.alternatives.choose_reply(
        user_id=user_id, character_id=character_id, message_id=turn.reply_message_id, alternative=1
    )
    assert (chosen.alternative, chosen.alternatives, chosen.text) == (1, 2, "take 2")
    # The next turn's model sees the chosen take.
    companion.chat.send_message(user_id=user_id, character_id=character_id, text="and you?")
    assert [t.text for t in model.asked[-1].recent_turns][-2:] == ["I played tennis", "take 2"]


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_every_alternative_and_choice_lands_in_the_read_model(
    companions: Companions, batch_size: int
) -> None:
    companion = companions(projection_batch_size=batch_size)
    _, user_id, character_id = with_model(companion)
    app = companion.application
    first = companion.chat.send_message(user_id=user_id, character_id=character_id, text="hello")
    r1 = first.reply_message_id
    companion.alternatives.regenerate_reply(
        user_id=user_id, character_id=character_id, message_id=r1
    )
    companion.alternatives.regenerate_reply(
        user_id=user_id, character_id=character_id, message_id=r1
    )
    companion.alternatives.choose_reply(
        user_id=user_id, character_id=character_id, message_id=r1, alternative=1
    )
    second = companion.chat.send_message(user_id=user_id, character_id=character_id, text="more")
    r2 = second.reply_message_id
    # A regeneration stored before v2: no number, and of a reply later messages followed.
    conv_id = conversation_id(user_id, character_id)
    conversation = app.repository.get(conv_id)
    assert isinstance(conversation, Conversation)
    conversation._reply_regenerated(
        message_id=r1,
        text="legacy take",
        model="old",
        latency_ms=3,
        fallback=True,
        alternative=None,
    )
    companion.uow.save(conversation)
    companion.alternatives.regenerate_reply(
        user_id=user_id, character_id=character_id, message_id=r2
    )
    companion.runner.run_once()

    conversations = companion.read_models.conversations
    page = conversations.messages(companion.views, conv_id, before=None, limit=10)
    by_id = {m.message_id: m for m in page.messages}
    shown = [(by_id[r].text, by_id[r].alternatives, by_id[r].chosen_alternative) for r in (r1, r2)]
    assert shown == [("legacy take", 4, 4), ("take 5", 2, 2)]
    assert (by_id[r1].model, by_id[r1].fallback) == ("old", True)
    takes = conversations.alternatives(companion.views, conv_id, r1)
    assert [(a.alternative, a.text) for a in takes] == [
        (1, "take 1"),
        (2, "take 2"),
        (3, "take 3"),
        (4, "legacy take"),
    ]
    summary = conversations.conversation(companion.views, conv_id)
    assert summary is not None
    assert summary.message_count == 4
    assert summary.last_message_preview == "take 5"

    live = conversations.dump(companion.views)
    companion.runner.rebuild(conversations)
    assert conversations.dump(companion.views) == live


@pytest.mark.parametrize("batch_size", [1, 500])
def test_choosing_the_last_message_s_take_changes_the_preview(
    companions: Companions, batch_size: int
) -> None:
    companion = companions(projection_batch_size=batch_size)
    _, user_id, character_id = with_model(companion)
    reply = companion.chat.send_message(user_id=user_id, character_id=character_id, text="hi")
    companion.alternatives.regenerate_reply(
        user_id=user_id, character_id=character_id, message_id=reply.reply_message_id
    )
    companion.alternatives.choose_reply(
        user_id=user_id,
        character_id=character_id,
        message_id=reply.reply_message_id,
        alternative=1,
    )
    companion.runner.run_once()

    conv_id = conversation_id(user_id, character_id)
    summary = companion.read_models.conversations.conversation(companion.views, conv_id)
    assert summary is not None
    assert summary.last_message_preview == "take 1"
    page = companion.read_models.conversations.messages(
        companion.views, conv_id, before=None, limit=1
    )
    shown = page.messages[0]
    assert (shown.text, shown.alternatives, shown.chosen_alternative) == ("take 1", 2, 1)
