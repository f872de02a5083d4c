"""Read-your-writes across processes waits for an announcement, not for a poll.

Two companions on one PostgreSQL database stand for two processes: a worker
that runs the projections and an API process that does not. The worker
announces each committed position (NOTIFY, sent at commit); the API process's
listener hears it and wakes its waiters. The API's safety poll is set longer
than the wait, so only the announcement can wake it in time.
"""

from __future__ import annotations

import pytest

from tests.support.companions import Companions
from tests.support.users import user_with_character

pytestmark = pytest.mark.postgres
NEVER = 3600.0
WAIT = 30.0


def test_a_waiter_in_another_process_wakes_when_the_worker_announces_its_commit(
    postgres_companions: Companions,
) -> None:
    worker = postgres_companions()
    api = postgres_companions(database_url=worker.settings.database_url)
    api.runner.safety_poll_interval = NEVER
    worker.runner.start()
    assert not api.runner.running

    user_id, character_id = user_with_character(api, "notify@example.org")
    first = api.chat.send_message(user_id=user_id, character_id=character_id, text="hi")
    # The first wait starts the listener, which reads the positions once it listens:
    # from then on only announcements bring news.
    assert api.runner.wait_for(first.position, ["conversations"], timeout=WAIT)

    second = api.chat.send_message(
        user_id=user_id, character_id=character_id, text="are you there?"
    )
    assert api.runner.wait_for(second.position, ["conversations", "emotion_states"], timeout=WAIT)
    assert api.runner.position("conversations") >= (second.position or 0)


def test_the_positions_channel_is_the_schemas_own(postgres_companions: Companions) -> None:
    companion = postgres_companions()
    store = companion.views
    assert getattr(store, "channel", None) == "companion.projections.public"
