"""The chat turn as a use case, on the in-memory unit of work: what it stores and answers."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest

from companion.adapters.llm.offline import OfflinePersonaResponder
from companion.app.chat import Chat
from companion.app.chat_results import ChatTurn, TurnAccepted, TurnDone
from companion.app.conversation_queue import ConversationQueue
from companion.app.model_call import ModelCall
from companion.domain.chat import ChatDelta, ChatReply, ChatRequest
from companion.domain.conversations import Conversation
from companion.domain.emotion import EmotionState
from companion.domain.errors import MessageNotFound
from companion.domain.identity import conversation_id
from tests.support.fake_uow import FakeCompanion, fake_companion, user_with_character


def saved(companion: FakeCompanion, kind: type) -> list[Any]:
    return [event for event in companion.uow.saved if isinstance(event, kind)]


def messages(companion: FakeCompanion, user_id: UUID, character_id: UUID) -> list[tuple[str, str]]:
    """(sender, text) of the conversation's messages as stored, in order."""
    sent = (Conversation.UserMessageSent, Conversation.CompanionReplied)
    return [
        ("user" if isinstance(e, Conversation.UserMessageSent) else "character", e.text)
        for e in companion.uow.stream(conversation_id(user_id, character_id))
        if isinstance(e, sent)
    ]


class Failing:
    """A chat model that is down."""

    name = "failing"

    def reply(self, request: ChatRequest) -> ChatReply:
        raise ConnectionError("the model's server is down")


def test_a_turn_stores_the_message_the_reply_and_the_mood() -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)

    turn = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="I played tennis today!"
    )

    (replied,) = saved(companion, Conversation.CompanionReplied)
    assert replied.message_id == turn.reply_message_id
    assert replied.in_reply_to == turn.user_message_id
    assert (turn.reply_text, turn.fallback) == (replied.text, False)
    (mood,) = saved(companion, EmotionState.MoodChanged)
    assert turn.mood == mood.after
    assert turn.position == len(companion.uow.saved)
    assert messages(companion, user_id, character_id) == [
        ("user", "I played tennis today!"),
        ("character", turn.reply_text),
    ]


def test_a_failing_model_stores_the_fallback_and_the_turn_says_so() -> None:
    companion = fake_companion(Failing())
    user_id, character_id = user_with_character(companion)

    turn = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="are you there?", client_message_id="c1"
    )
    retried = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="are you there?", client_message_id="c1"
    )

    (replied,) = saved(companion, Conversation.CompanionReplied)
    assert replied.fallback is True
    assert (turn.fallback, turn.reply_text) == (True, replied.text)
    # A client's retry answers the stored turn, fallback and all.
    assert (retried.fallback, retried.reply_text) == (True, replied.text)


def test_a_client_retry_answers_the_stored_turn_and_stores_nothing_more() -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)
    first = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="hello", client_message_id="c1"
    )
    stored = len(companion.uow.saved)

    again = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="hello", client_message_id="c1"
    )

    assert (again.user_message_id, again.reply_text) == (first.user_message_id, first.reply_text)
    assert again.fallback is False
    assert len(companion.uow.saved) == stored


class Interrupted:
    """A chat model during whose first reply the same user sends another whole turn,
    through another process (its own line of turns, the same store)."""

    name = "interrupted"

    def __init__(self, companion: FakeCompanion, user_id: UUID, character_id: UUID) -> None:
        self.other_process = Chat(
            companion.uow,
            ModelCall(OfflinePersonaResponder()),
            companion.feelings,
            companion.memories,
            ConversationQueue(),
        )
        self.user_id, self.character_id = user_id, character_id
        self.model = OfflinePersonaResponder()
        self.calls = 0
        self.interrupted: list[ChatTurn] = []

    def reply(self, request: ChatRequest) -> ChatReply:
        self.calls += 1
        if self.calls == 1:
            self.interrupted.append(
                self.other_process.send_message(
                    user_id=self.user_id, character_id=self.character_id, text="wait, one more"
                )
            )
        return self.model.reply(request)


def test_a_turn_whose_save_conflicts_is_decided_again_and_nothing_is_lost() -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)
    model = Interrupted(companion, user_id, character_id)
    companion.model_call.chat_model = model

    turn = companion.chat.send_message(user_id=user_id, character_id=character_id, text="hi")

    # The first turn's reply was built on the conversation before the other turn:
    # the store refused it, and it was saved again on the conversation as it is.
    assert companion.uow.conflicts >= 1
    (other,) = model.interrupted
    assert messages(companion, user_id, character_id) == [
        ("user", "hi"),
        ("user", "wait, one more"),
        ("character", other.reply_text),
        ("character", turn.reply_text),
    ]
    moods = saved(companion, EmotionState.MoodChanged)
    assert len(moods) == 2
    assert moods[1].before == moods[0].after  # the second mood built on the first


def test_a_streamed_turn_is_stored_as_its_last_frame_says() -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)

    async def streamed() -> list[Any]:
        turn = companion.chat.send_message_streaming(
            user_id=user_id, character_id=character_id, text="tell me about your day"
        )
        return [item async for item in turn]

    items = asyncio.run(streamed())

    assert isinstance(items[0], TurnAccepted)
    assert isinstance(items[-1], TurnDone)
    done = items[-1].turn
    assert items[0].message_id == done.user_message_id
    assert "".join(item.text for item in items if isinstance(item, ChatDelta)) == done.reply_text
    (replied,) = saved(companion, Conversation.CompanionReplied)
    assert (replied.text, replied.fallback) == (done.reply_text, done.fallback)


def test_reading_up_to_a_message_of_another_conversation_records_nothing() -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)
    _, elsewhere = user_with_character(companion)
    turn = companion.chat.send_message(user_id=user_id, character_id=character_id, text="hello")
    stored = len(companion.uow.saved)

    with pytest.raises(MessageNotFound):
        companion.chat.mark_read(user_id=user_id, character_id=character_id, message_id=elsewhere)
    assert len(companion.uow.saved) == stored

    companion.chat.mark_read(
        user_id=user_id, character_id=character_id, message_id=turn.reply_message_id
    )
    (read,) = saved(companion, Conversation.MessageRead)
    assert read.message_id == turn.reply_message_id
