"""One turn, one truth: whatever a client retries, it is answered the reply that was stored."""

from __future__ import annotations

import threading
from itertools import count
from uuid import UUID

import pytest

from companion.app.bootstrap import Companion
from companion.app.chat_results import ChatTurn
from companion.domain.characters import Persona
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.conversations import RECENT_TURNS
from companion.domain.errors import IdempotencyConflict
from companion.domain.identity import conversation_id
from tests.support.companions import Companions
from tests.support.personas import HANA


class NumberedReplies:
    """A chat model that never answers the same twice; optionally holds callers until N call."""

    name = "numbered"

    def __init__(self, meet: int = 1) -> None:
        self._numbers = count(1)
        self._barrier = threading.Barrier(meet) if meet > 1 else None

    def reply(self, request: ChatRequest) -> ChatReply:
        if self._barrier is not None:
            self._barrier.wait(timeout=10)
        return ChatReply(text=f"reply number {next(self._numbers)}", model=self.name)


@pytest.fixture(params=["memory", "sqlite"])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


def a_user_and_character(companion: Companion) -> tuple[UUID, UUID]:
    user_id = companion.accounts.register(
        email="t@example.com", password="0123456789ab", name="T", nickname="T"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return user_id, character_id


def stored_replies(companion: Companion, conversation: UUID) -> dict[UUID, str]:
    return {
        e.message_id: e.text  # type: ignore[attr-defined]
        for e in companion.uow.stream(conversation)
        if type(e).__name__ == "CompanionReplied"
    }


def test_concurrent_retries_of_one_turn_both_answer_the_stored_reply(
    companions: Companions,
) -> None:
    companion = companions()
    companion.model_call.chat_model = NumberedReplies(
        meet=2
    )  # both requests reach the model together
    user_id, character_id = a_user_and_character(companion)
    turns: list[ChatTurn] = []

    def send() -> None:
        turns.append(
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text="hello", client_message_id="c1"
            )
        )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(turns) == 2
    first, second = turns
    assert first.reply_message_id == second.reply_message_id
    stored = stored_replies(companion, conversation_id(user_id, character_id))
    assert len(stored) == 1
    assert first.reply_text == second.reply_text == stored[first.reply_message_id]


def test_a_retry_older_than_the_recent_turns_answers_the_stored_text(
    companions: Companions,
) -> None:
    companion = companions()
    companion.model_call.chat_model = NumberedReplies()
    user_id, character_id = a_user_and_character(companion)
    first = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="remember me", client_message_id="old"
    )
    for n in range(RECENT_TURNS):
        companion.chat.send_message(user_id=user_id, character_id=character_id, text=f"turn {n}")
    retried = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="remember me", client_message_id="old"
    )
    assert retried.user_message_id == first.user_message_id
    assert retried.reply_text == first.reply_text == "reply number 1"


def test_a_client_id_reused_for_another_text_is_a_conflict(companions: Companions) -> None:
    companion = companions()
    user_id, character_id = a_user_and_character(companion)
    companion.chat.send_message(
        user_id=user_id, character_id=character_id, text="one", client_message_id="x"
    )
    with pytest.raises(IdempotencyConflict):
        companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="two", client_message_id="x"
        )
    same = companion.chat.send_message(
        user_id=user_id, character_id=character_id, text=" one ", client_message_id="x"
    )
    assert same.reply_text
