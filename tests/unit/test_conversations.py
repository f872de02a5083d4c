from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from companion.domain.conversations import (
    MAX_MESSAGE_CHARS,
    RECENT_TURNS,
    REMEMBERED_CLIENT_IDS,
    Conversation,
)
from companion.domain.errors import (
    AlreadyReplied,
    IdempotencyConflict,
    InvalidInput,
    MessageNotFound,
)
from companion.domain.identity import conversation_id, reply_id


def new_conversation() -> Conversation:
    conversation = Conversation(user_id=uuid4(), character_id=uuid4())
    conversation.collect_events()
    return conversation


def send(conversation: Conversation, text: str = "hello", client_id: str | None = None) -> UUID:
    return conversation.send_user_message(text, client_message_id=client_id, message_id=uuid4())


def answer(conversation: Conversation, message_id: UUID, text: str = "hi there") -> UUID:
    return conversation.reply(
        in_reply_to=message_id,
        text=text,
        model="offline-persona",
        latency_ms=12,
        prompt_tokens=10,
        completion_tokens=3,
        fallback=False,
    )


def test_a_conversation_is_identified_by_its_user_and_character() -> None:
    user_id, character_id = uuid4(), uuid4()

    conversation = Conversation(user_id=user_id, character_id=character_id)

    assert conversation.id == conversation_id(user_id, character_id)


@pytest.mark.parametrize("text", ["x", "y" * MAX_MESSAGE_CHARS, "  padded  ", "こんにちは 🌸"])
def test_a_message_of_one_to_4000_characters_is_accepted(text: str) -> None:
    conversation = new_conversation()

    message_id = send(conversation, text)

    assert conversation.recent_turns()[-1].text == text.strip()
    assert conversation.is_awaiting_reply(message_id)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "z" * (MAX_MESSAGE_CHARS + 1), "a\x00b"])
def test_an_empty_or_overlong_message_is_rejected(text: str) -> None:
    conversation = new_conversation()

    with pytest.raises(InvalidInput):
        send(conversation, text)

    assert conversation.collect_events() == []


def test_a_retried_client_message_id_returns_the_same_message_and_records_nothing() -> None:
    conversation = new_conversation()
    first = send(conversation, "hello", client_id="client-1")
    conversation.collect_events()

    retried = send(conversation, "hello", client_id="client-1")

    assert retried == first
    assert conversation.collect_events() == []
    assert conversation.message_count == 1


def test_a_client_id_reused_after_it_was_forgotten_is_a_new_message() -> None:
    conversation = new_conversation()
    first = send(conversation, client_id="reused")
    for n in range(REMEMBERED_CLIENT_IDS):
        send(conversation, client_id=f"other-{n}")
    assert conversation.known_message("reused") is None

    again = send(conversation, client_id="reused")

    assert again != first
    assert conversation.known_message("reused") == again


def test_the_same_client_message_id_in_another_conversation_is_another_message() -> None:
    assert send(new_conversation(), client_id="c-1") != send(new_conversation(), client_id="c-1")


def test_a_reply_answers_the_message_once() -> None:
    conversation = new_conversation()
    message_id = send(conversation)

    reply = answer(conversation, message_id)

    assert reply == reply_id(message_id)
    assert not conversation.is_awaiting_reply(message_id)
    with pytest.raises(AlreadyReplied):
        answer(conversation, message_id, "a second reply")


def test_a_reply_to_an_unknown_message_is_refused() -> None:
    conversation = new_conversation()

    with pytest.raises(AlreadyReplied):
        answer(conversation, uuid4())


def test_negative_measurements_of_a_reply_are_recorded_as_zero() -> None:
    conversation = new_conversation()
    message_id = send(conversation)
    conversation.collect_events()

    conversation.reply(
        in_reply_to=message_id,
        text="ok",
        model="m",
        latency_ms=-5,
        prompt_tokens=-1,
        completion_tokens=-2,
        fallback=True,
    )

    (replied,) = conversation.collect_events()
    assert isinstance(replied, Conversation.CompanionReplied)
    assert (replied.latency_ms, replied.prompt_tokens, replied.completion_tokens) == (0, 0, 0)


def test_the_recent_turns_keep_only_the_latest_messages() -> None:
    conversation = new_conversation()
    for n in range(RECENT_TURNS + 7):
        answer(conversation, send(conversation, f"message {n}"), f"reply {n}")

    turns = conversation.recent_turns()

    assert len(turns) == RECENT_TURNS
    assert turns[-1].text == f"reply {RECENT_TURNS + 6}"
    assert turns[-2].sender == "user"
    assert conversation.message_count == 2 * (RECENT_TURNS + 7)


def test_only_a_recent_reply_of_the_character_can_be_regenerated() -> None:
    conversation = new_conversation()
    message_id = send(conversation)
    reply = answer(conversation, message_id)

    conversation.regenerate_reply(
        message_id=reply, text="another take", model="m", latency_ms=1, fallback=False
    )

    assert conversation.recent_turns()[-1].text == "another take"
    with pytest.raises(MessageNotFound):
        conversation.regenerate_reply(
            message_id=message_id, text="no", model="m", latency_ms=1, fallback=False
        )


UNKNOWN_MESSAGE = UUID(int=0)


class ConversationMachine(RuleBasedStateMachine):
    """Random sends, retries, replies and regenerations against one conversation."""

    @staticmethod
    def rebuild(events: list[Any]) -> Any:
        raise NotImplementedError  # given by the test, from the `replay` fixture

    def __init__(self) -> None:
        super().__init__()
        self.conversation = Conversation(user_id=UUID(int=1), character_id=UUID(int=2))
        self.events: list[Any] = list(self.conversation.collect_events())
        self.awaiting: list[UUID] = []
        self.replies: list[UUID] = []
        self.sent = 0
        self.client_texts: dict[str, str] = {}

    def _record(self) -> None:
        self.events.extend(self.conversation.collect_events())

    @rule(
        text=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and "\x00" not in t),
        client_id=st.none() | st.sampled_from(["a", "b", "c", "d"]),
    )
    def send(self, text: str, client_id: str | None) -> None:
        self.sent += 1
        known = self.conversation.known_message(client_id) if client_id else None
        if known is not None and client_id is not None:
            if self.client_texts[client_id] != text.strip():
                # The same client id for another text is not a retry.
                with pytest.raises(IdempotencyConflict):
                    self.conversation.send_user_message(
                        text, client_message_id=client_id, message_id=uuid4()
                    )
                return
        elif client_id is not None:
            self.client_texts[client_id] = text.strip()
        message_id = self.conversation.send_user_message(
            text,
            client_message_id=client_id,
            message_id=uuid5(self.conversation.id, str(self.sent)),
        )
        if known is None:
            self.awaiting.append(message_id)
        else:
            assert message_id == known
        self._record()

    @precondition(lambda self: self.awaiting)
    @rule(data=st.data(), text=st.sampled_from(["ok", "sure thing", "わかった"]))
    def reply(self, data: st.DataObject, text: str) -> None:
        message_id = data.draw(st.sampled_from(self.awaiting))
        self.replies.append(answer(self.conversation, message_id, text))
        self.awaiting.remove(message_id)
        self._record()

    @rule(data=st.data())
    def reply_to_a_message_not_awaiting_one(self, data: st.DataObject) -> None:
        answered = [UNKNOWN_MESSAGE] + [
            turn.message_id for turn in self.conversation.recent_turns() if turn.sender == "user"
        ]
        message_id = data.draw(st.sampled_from(answered))
        if message_id in self.awaiting:
            return
        with pytest.raises(AlreadyReplied):
            answer(self.conversation, message_id)
        assert self.conversation.collect_events() == []

    @precondition(lambda self: self.replies)
    @rule(data=st.data())
    def regenerate(self, data: st.DataObject) -> None:
        recent = self.conversation.recent_turns()
        # Only the reply that ends the conversation has alternatives.
        if recent and recent[-1].message_id in self.replies:
            self.conversation.regenerate_reply(
                message_id=recent[-1].message_id,
                text=data.draw(st.sampled_from(["again", "once more"])),
                model="m",
                latency_ms=0,
                fallback=False,
            )
            self._record()

    @invariant()
    def replay_is_deterministic(self) -> None:
        rebuilt = self.rebuild(self.events)
        assert rebuilt.__dict__ == self.conversation.__dict__
        assert rebuilt.version == self.conversation.version == len(self.events)

    @invariant()
    def every_reply_answers_a_user_message_awaiting_one(self) -> None:
        awaiting: set[UUID] = set()
        for domain_event in self.events:
            if isinstance(domain_event, Conversation.UserMessageSent):
                assert domain_event.message_id not in awaiting
                awaiting.add(domain_event.message_id)
            elif isinstance(domain_event, Conversation.CompanionReplied):
                assert domain_event.in_reply_to in awaiting
                awaiting.remove(domain_event.in_reply_to)
        assert awaiting == set(self.awaiting)

    @invariant()
    def the_recent_turns_stay_bounded(self) -> None:
        assert len(self.conversation.recent_turns()) <= RECENT_TURNS


def test_any_sequence_of_commands_replays_to_the_same_conversation(replay: Any) -> None:
    class Machine(ConversationMachine):
        rebuild = staticmethod(replay)

    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=60, stateful_step_count=40, deadline=None),
    )
