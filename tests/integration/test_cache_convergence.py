"""The aggregate cache reads nothing to change an aggregate, and is still never wrong.

Two API processes (two applications, each with its own cache, on one
PostgreSQL database) writing one conversation in turn lose no event and read
nothing stale; a failed save leaves nothing of itself in the cache; threads of
one process talking to one character at once lose nothing either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from companion.app.bootstrap import Companion, bootstrap
from companion.domain.characters import Character, Persona
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.conversations import Conversation
from companion.domain.identity import conversation_id, emotion_state_id
from companion.domain.sessions import Session
from tests.support.companions import Companions
from tests.support.personas import HANA

pytestmark = pytest.mark.postgres


class Listener:
    """A chat model that keeps every request it is asked, and answers by number."""

    name = "listener"

    def __init__(self, process: str) -> None:
        self.process = process
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()

    def reply(self, request: ChatRequest) -> ChatReply:
        with self._lock:
            self.requests.append(request)
            return ChatReply(text=f"{self.process} reply {len(self.requests)}", model=self.name)


@pytest.fixture
def two_processes(
    postgres_companions: Companions, postgres_url: str
) -> Iterator[tuple[Companion, Companion, Listener, Listener]]:
    models = Listener("first"), Listener("second")
    built = [
        bootstrap(postgres_companions.settings(database_url=postgres_url), chat_model=model)
        for model in models
    ]
    try:
        yield built[0], built[1], models[0], models[1]
    finally:
        for companion in built:
            companion.close()


def _pair(companion: Companion) -> tuple[UUID, UUID]:
    user_id = companion.accounts.register(
        email=f"{uuid4().hex[:8]}@example.com", password="0123456789ab", name="T", nickname="T"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return user_id, character_id


def _messages(companion: Companion, conversation: UUID) -> list[tuple[str, str]]:
    """(kind, text) of every message stored, in order."""
    return [
        (type(e).__name__, e.text)  # type: ignore[attr-defined]
        for e in companion.uow.stream(conversation)
        if type(e).__name__ in ("UserMessageSent", "CompanionReplied")
    ]


def test_two_processes_alternating_turns_lose_nothing_and_read_nothing_stale(
    two_processes: tuple[Companion, Companion, Listener, Listener],
) -> None:
    first, second, first_model, second_model = two_processes
    user_id, character_id = _pair(first)
    conv_id = conversation_id(user_id, character_id)
    processes = [first, second]
    models = [first_model, second_model]
    turns = 8
    last_reply = ""
    for n in range(turns):
        process, model = processes[n % 2], models[n % 2]
        turn = process.chat.send_message(
            user_id=user_id, character_id=character_id, text=f"message {n}"
        )
        # The prompt saw the other process's last turn: its message and its reply.
        request = model.requests[-1]
        if n:
            said = [(t.sender, t.text) for t in request.recent_turns][-2:]
            assert said == [("user", f"message {n - 1}"), ("character", last_reply)]
        # The first process renames the character after turn 4: every prompt after it knows.
        assert (request.persona.name == "Hana Renamed") is (n > 4)
        last_reply = turn.reply_text
        if n == 4:
            character = first.uow.load(Character, character_id)
            character.update_persona(replace(character.persona, name="Hana Renamed"))
            first.uow.save(character)

    stored = _messages(first, conv_id)
    assert [kind for kind, _ in stored] == ["UserMessageSent", "CompanionReplied"] * turns
    assert [text for kind, text in stored if kind == "UserMessageSent"] == [
        f"message {n}" for n in range(turns)
    ]
    # Each turn's mood built on the one before it, whichever process felt it.
    moods = [
        (e.before, e.after)  # type: ignore[attr-defined]
        for e in first.application.events.get(emotion_state_id(user_id, character_id))
        if type(e).__name__ == "MoodChanged"
    ]
    assert len(moods) == turns
    assert all(before == after for (_, after), (before, _) in pairwise(moods))


def test_a_save_that_fails_leaves_nothing_of_itself_in_the_cache(
    two_processes: tuple[Companion, Companion, Listener, Listener],
) -> None:
    first, second, _, _ = two_processes
    app, uow = first.application, first.uow
    user_id, character_id = _pair(first)
    conv_id = conversation_id(user_id, character_id)
    first.chat.send_message(user_id=user_id, character_id=character_id, text="hello")
    second.chat.send_message(user_id=user_id, character_id=character_id, text="from two")

    stale = uow.load(Conversation, conv_id)
    stale.send_user_message("never stored", client_message_id=None, message_id=uuid4())
    # Changing a loaded copy changes nothing that others read.
    shared = uow.load(Conversation, conv_id, to_change=False)
    assert "never stored" not in _texts(shared)
    with pytest.raises(IntegrityError):
        uow.save(stale)

    cache: Any = app.repository.cache
    left = cache.cache.get(conv_id)
    assert left is None or "never stored" not in _texts(cache.get(conv_id))
    fresh = uow.load(Conversation, conv_id)
    assert [t.text for t in fresh.recent_turns() if t.sender == "user"] == ["hello", "from two"]
    assert fresh.version == second.uow.load(Conversation, conv_id).version


def _texts(conversation: Conversation) -> list[str]:
    return [turn.text for turn in conversation.recent_turns()]


def test_threads_of_one_process_talking_to_one_character_lose_nothing(
    postgres_companions: Companions,
) -> None:
    companion = postgres_companions()
    app = companion.application
    user_id, character_id = _pair(companion)
    threads, turns = 4, 5
    errors: list[BaseException] = []
    answered: dict[UUID, str] = {}
    start = threading.Barrier(threads)

    def talk(thread: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(turns):
                turn = companion.chat.send_message(
                    user_id=user_id, character_id=character_id, text=f"{thread}.{n}"
                )
                answered[turn.user_message_id] = turn.reply_text
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=talk, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []

    stored = _messages(companion, conversation_id(user_id, character_id))
    sent = sorted(text for kind, text in stored if kind == "UserMessageSent")
    assert sent == sorted(f"{t}.{n}" for t in range(threads) for n in range(turns))
    # Every turn was answered the reply stored for its own message.
    replies = {
        e.in_reply_to: e.text  # type: ignore[attr-defined]
        for e in app.events.get(conversation_id(user_id, character_id))
        if type(e).__name__ == "CompanionReplied"
    }
    assert replies == answered
    moods = [
        e
        for e in app.events.get(emotion_state_id(user_id, character_id))
        if type(e).__name__ == "MoodChanged"
    ]
    assert len(moods) == threads * turns
    # What the cache holds is what the store holds.
    cached = companion.uow.load(
        Conversation, conversation_id(user_id, character_id), to_change=False
    )
    stored_conversation = app.repository.get(
        conversation_id(user_id, character_id), version=cached.version
    )
    assert cached.version == max(e.originator_version for e in app.events.get(cached.id))
    assert cached.recent_turns() == stored_conversation.recent_turns()


def test_a_decision_on_an_aggregate_the_save_leaves_alone_is_checked_first(
    two_processes: tuple[Companion, Companion, Listener, Listener],
) -> None:
    first, second, _, _ = two_processes
    uow = first.uow
    user_id, character_id = _pair(first)
    uow.load(Character, character_id, to_change=False)  # cached in the first process
    other = second.uow.load(Character, character_id)
    other.update_persona(replace(other.persona, name="Hana Renamed"))
    second.uow.save(other)

    decided: list[str] = []

    def attempt() -> UUID:
        # Read to decide, from the cache; only the session is saved.
        name = uow.load(Character, character_id).persona.name
        decided.append(name)
        session = Session(user_id=user_id, device=name, started_at=uow.clock())
        uow.save(session)
        return session.id

    session_id = uow.retry(attempt)
    assert decided == [HANA["name"], "Hana Renamed"]
    assert uow.load(Session, session_id, to_change=False).device == "Hana Renamed"
