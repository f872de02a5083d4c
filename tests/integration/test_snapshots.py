"""Long conversations are snapshotted, and load the same from a snapshot as from their events."""

from __future__ import annotations

from uuid import uuid4

import pytest

from companion.app.application import CompanionApplication
from companion.domain.conversations import Conversation
from tests.integration.conftest import Companions


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
        app.save_all(conversation)

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
