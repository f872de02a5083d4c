"""Long conversations are snapshotted, and load the same from a snapshot as from their events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from companion.app.application import CompanionApplication
from companion.domain.characters import Persona
from companion.domain.conversations import Conversation
from companion.domain.emotion import EmotionState
from companion.domain.identity import emotion_state_id
from companion.domain.memory import MemoryBook
from companion.domain.memory_values import MemoryCandidate
from tests.support.companions import Companions
from tests.support.personas import HANA


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


def test_a_long_conversation_loads_from_its_snapshot_as_from_its_events(
    companions: Companions,
) -> None:
    companion = companions(aggregate_cache_size=0)
    app = companion.application
    interval = CompanionApplication.snapshotting_intervals[Conversation]
    conversation = Conversation(user_id=uuid4(), character_id=uuid4())
    while conversation.version < interval + 10:
        conversation.send_user_message(
            f"message {conversation.version}", client_message_id=None, message_id=uuid4()
        )
        companion.uow.save(conversation)

    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(conversation.id))
    assert [s.originator_version for s in snapshots] == [interval]

    loaded = app.repository.get(conversation.id)  # from the snapshot and ten events
    replayed = None
    for event in app.events.get(conversation.id):  # from every event, ignoring the snapshot
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Conversation)
    assert loaded.version == replayed.version == conversation.version
    assert loaded.recent_turns() == replayed.recent_turns() == conversation.recent_turns()
    assert loaded.message_count == replayed.message_count == conversation.message_count


def _loaded_and_replayed(app: CompanionApplication, aggregate_id: UUID) -> tuple[Any, Any]:
    loaded = app.repository.get(aggregate_id)
    replayed = None
    for event in app.events.get(aggregate_id):
        replayed = event.mutate(replayed)
    return loaded, replayed


def _state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def test_a_long_mood_history_loads_from_its_snapshot_as_from_its_events(
    companions: Companions,
) -> None:
    companion = companions(aggregate_cache_size=0)
    app = companion.application
    user_id = companion.accounts.register(
        email="snap@example.com", password="0123456789ab", name="S", nickname="S"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    interval = CompanionApplication.snapshotting_intervals[EmotionState]
    state_id = emotion_state_id(user_id, character_id)
    texts = ["I love you", "my cat got sick", "thanks!", "you idiot lol", "今日は楽しかった"]
    companion.chat.send_message(user_id=user_id, character_id=character_id, text="hello")
    turn = 0
    while app.repository.get(state_id).version < interval + 5:
        companion.chat.send_message(
            user_id=user_id, character_id=character_id, text=texts[turn % 5]
        )
        turn += 1

    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(state_id)] == [interval]
    loaded, replayed = _loaded_and_replayed(app, state_id)
    assert isinstance(loaded, EmotionState)
    assert _state(loaded) == _state(replayed)


def test_a_long_memory_book_loads_from_its_snapshot_as_from_its_events(
    companions: Companions,
) -> None:
    companion = companions(aggregate_cache_size=0)
    app = companion.application
    interval = CompanionApplication.snapshotting_intervals[MemoryBook]
    book = MemoryBook(user_id=uuid4(), character_id=uuid4())
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    n = 0
    while book.version < interval + 10:
        n += 1
        fact = MemoryCandidate(
            kind="preference",
            key=("likes", f"thing {n}"),
            value=f"thing {n}",
            text=f"likes thing {n}",
            importance=0.5,
            source_message_id=uuid4(),
            extractor="rule:test",
            tags=("likes",),
        )
        book.record(fact, now, lemmas=("thing", str(n)))
        companion.uow.save(book)

    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(book.id))
    assert [s.originator_version for s in snapshots] == [interval]

    loaded, replayed = _loaded_and_replayed(app, book.id)
    assert isinstance(replayed, MemoryBook)
    assert loaded.version == replayed.version == book.version
    assert loaded.memories(now) == replayed.memories(now) == book.memories(now)
