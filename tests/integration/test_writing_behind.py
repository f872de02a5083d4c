"""A catch-up on PostgreSQL writes each batch while it handles the next; what it promised holds.

- a batch that fails in the writer commits neither its rows nor its position,
  and no later batch commits anything: a restart applies again from the last
  committed position, exactly once;
- a batch whose position another runner moved since it was read writes nothing;
- a read inside a batch sees the previous batch and the batch's own earlier writes;
- a batch reads its position, and advances it, with no round trip of its own.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from companion.app.bootstrap import Companion
from companion.domain.conversations import Conversation
from projections import arrays
from projections.base import handles
from projections.conversations import ConversationsProjection
from projections.runner import ProjectionRunner
from projections.store import ViewCursor
from projections.writing import BatchWriter, PositionMoved
from tests.support.companions import Companions
from tests.support.conversations import turns
from tests.support.wire import Wire

pytestmark = pytest.mark.postgres

BATCH = 10


class FailingConversations(ConversationsProjection):
    """Conversations whose batch holding `fail_at` breaks in the database, once written."""

    fail_at = 0

    @handles(Conversation.UserMessageSent)
    def _user_message(self, cursor: ViewCursor, event: Any, position: int) -> None:
        super()._user_message(cursor, event, position)
        if position == self.fail_at:
            cursor.defer("SELECT 1 / (:zero - :zero)", {"zero": position})


class RaisingConversations(ConversationsProjection):
    """Conversations whose handler of the reply at `fail_at` raises, before the batch ends."""

    fail_at = 0

    @handles(Conversation.CompanionReplied)
    def _reply(self, cursor: ViewCursor, event: Any, position: int) -> None:
        if position == self.fail_at:
            raise RuntimeError("a handler failed")
        super()._reply(cursor, event, position)


def runner_of(companion: Companion, projection: ConversationsProjection) -> ProjectionRunner:
    app = companion.application
    return ProjectionRunner(
        app.recorder, app.mapper, companion.views, [projection], batch_size=BATCH
    )


def messages(companion: Companion, projection: ConversationsProjection) -> list[int]:
    with companion.views.read() as cursor:
        rows = cursor.query(f"SELECT seq FROM {projection.messages_table} ORDER BY seq")
    return [int(row["seq"]) for row in rows]


def test_a_batch_failing_in_the_writer_commits_nothing_after_the_last_good_one(
    postgres_companions: Companions,
) -> None:
    companion = postgres_companions()
    head = turns(companion, conversations=3, rounds=12)
    failing = FailingConversations()
    sent = [
        n.id
        for n in companion.application.recorder.select_notifications(start=1, limit=1000)
        if n.topic.endswith("UserMessageSent")
    ]
    failing.fail_at = next(p for p in sent if p > 4 * BATCH)  # far into the writing behind
    runner = runner_of(companion, failing)

    with pytest.raises(Exception, match="division by zero"):
        runner.catch_up(failing)

    position = companion.views.position(failing.key)
    assert position < failing.fail_at <= position + BATCH  # the batch before it, no later
    assert position >= 3 * BATCH  # batches were written behind before it
    assert runner._positions[failing.name] == position
    # Each message and its reply, one after the other, up to the position and no further.
    assert messages(companion, failing) == sorted(
        [p for p in sent if p <= position] + [p + 1 for p in sent if p + 1 <= position]
    )

    failing.fail_at = 0  # fixed: a restart applies from the last committed position
    assert runner_of(companion, failing).catch_up(failing) == head - position
    caught_up = failing.dump(companion.views)
    runner_of(companion, failing).rebuild(failing)
    assert failing.dump(companion.views) == caught_up
    conversations = caught_up[failing.conversations_table]
    assert [int(row["message_count"]) for row in conversations] == [24, 24, 24]


def test_a_handler_failing_while_the_batch_before_is_written_leaves_that_one_alone(
    postgres_companions: Companions,
) -> None:
    companion = postgres_companions()
    turns(companion, conversations=3, rounds=12)
    raising = RaisingConversations()
    replies = [
        n.id
        for n in companion.application.recorder.select_notifications(start=1, limit=1000)
        if n.topic.endswith("CompanionReplied")
    ]
    # Not the first of its batch: the message before it is handled, and must not land.
    raising.fail_at = next(p for p in replies if p > 4 * BATCH and (p - 1) % BATCH)

    with pytest.raises(RuntimeError, match="a handler failed"):
        runner_of(companion, raising).catch_up(raising)

    position = companion.views.position(raising.key)
    assert position < raising.fail_at <= position + BATCH
    assert position >= 3 * BATCH
    assert max(messages(companion, raising)) <= position


def test_a_batch_whose_position_moved_writes_nothing(postgres_companions: Companions) -> None:
    companion = postgres_companions()
    store = companion.views
    key = "writing-behind@v1"
    store.create_tables(["CREATE TABLE writing_behind (id {bigint} PRIMARY KEY)"])
    with store.write(key) as cursor:
        store.advance(cursor, key, 5)  # another runner got there first
    committed: list[int] = []
    writer = BatchWriter(store, key, committed.append)
    batch = writer.begin(0)
    batch.defer("INSERT INTO writing_behind (id) VALUES (:id)", {"id": 1})
    writer.end(batch, 10, 1)

    with pytest.raises(PositionMoved):
        writer.close()

    assert committed == []
    assert store.position(key) == 5
    with store.read() as cursor:
        assert cursor.query("SELECT * FROM writing_behind") == []


def test_a_read_inside_a_batch_sees_the_batch_before_and_its_own_writes(
    postgres_companions: Companions,
) -> None:
    companion = postgres_companions()
    store = companion.views
    key = "writing-behind@v1"
    store.create_tables(["CREATE TABLE writing_behind (id {bigint} PRIMARY KEY)"])
    committed: list[int] = []
    writer = BatchWriter(store, key, committed.append)
    first = writer.begin(0)
    first.defer("INSERT INTO writing_behind (id) VALUES (:id)", {"id": 1})
    writer.end(first, 1, 1)
    second = writer.begin(1)
    second.execute("INSERT INTO writing_behind (id) VALUES (:id)", {"id": 2})
    seen = second.query("SELECT id FROM writing_behind ORDER BY id")
    writer.end(second, 2, 1)
    writer.close()

    assert [row["id"] for row in seen] == [1, 2]
    assert committed == [1, 2]
    assert store.position(key) == 2


def test_a_batch_abandoned_by_its_handlers_commits_nothing(
    postgres_companions: Companions,
) -> None:
    companion = postgres_companions()
    store = companion.views
    key = "writing-behind@v1"
    store.create_tables(["CREATE TABLE writing_behind (id {bigint} PRIMARY KEY)"])
    writer = BatchWriter(store, key, lambda position: None)
    first = writer.begin(0)
    first.defer("INSERT INTO writing_behind (id) VALUES (:id)", {"id": 1})
    writer.end(first, 1, 1)
    second = writer.begin(1)
    second.defer("INSERT INTO writing_behind (id) VALUES (:id)", {"id": 2})
    writer.abandon(second)
    writer.close()

    assert store.position(key) == 1
    with store.read() as cursor:
        assert [row["id"] for row in cursor.query("SELECT id FROM writing_behind")] == [1]


def test_a_batch_clashing_with_rows_another_runner_wrote_says_its_position_moved(
    postgres_companions: Companions,
) -> None:
    # The position is read at the batch's first wait for the server, here its
    # COPY, which the other runner's row has already made fail.
    companion = postgres_companions()
    store = companion.views
    key = "writing-behind@v1"
    store.create_tables(["CREATE TABLE writing_behind (id {bigint} PRIMARY KEY)"])
    with store.write(key) as cursor:
        cursor.execute("INSERT INTO writing_behind (id) VALUES (1)")
        store.advance(cursor, key, 5)  # another runner got there first
    writer = BatchWriter(store, key, lambda position: None)
    batch = writer.begin(0)
    for row in (1, 2):
        batch.defer("INSERT INTO writing_behind (id) VALUES (:id)", {"id": row})
    writer.end(batch, 10, 2)

    with pytest.raises(PositionMoved):
        writer.close()

    assert store.position(key) == 5
    with store.read() as cursor:
        assert [row["id"] for row in cursor.query("SELECT id FROM writing_behind")] == [1]


def test_a_batch_checks_and_advances_its_position_without_round_trips_of_their_own(
    postgres_companions: Companions, tmp_path: Path
) -> None:
    # BEGIN; the setting, the lock and the position's query, sent together and
    # answered before the COPY; the COPY's start and its rows; the position's
    # upsert, answered as the pipeline is left; COMMIT.
    companion = postgres_companions()
    store = companion.views
    key = "writing-behind@v1"
    store.create_tables(["CREATE TABLE writing_behind (id {bigint} PRIMARY KEY)"])

    def write(start: int) -> None:
        writer = BatchWriter(store, key, lambda position: None)
        batch = writer.begin(start)
        for row in range(start, start + 3):
            batch.defer("INSERT INTO writing_behind (id) VALUES (:id)", {"id": row})
        writer.end(batch, start + 3, 3)
        writer.close()

    write(0)  # the statements prepared, the table's column types read
    (tmp_path / "wire").mkdir()
    wire = Wire(tmp_path / "wire")
    try:
        wire.watch(store.datastore.pool, "views")  # type: ignore[attr-defined]
        write(3)
        traffic = wire.traffic()
    finally:
        wire.close()
    assert store.position(key) == 6
    assert traffic.round_trips == 6


def test_the_last_advance_of_a_batch_refuses_to_move_the_position_back(
    postgres_companions: Companions,
) -> None:
    companion = postgres_companions()
    store = companion.views
    key = "writing-behind@v1"
    with store.write(key) as cursor:
        store.advance(cursor, key, 5)

    with pytest.raises(IntegrityError), store.write(key) as cursor:
        store.advance_last(cursor, key, 3)

    assert store.position(key) == 5


def test_a_batch_is_formatted_for_copy_by_the_thread_that_handled_it(
    postgres_companions: Companions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once its statement has gone by COPY: the writer's thread then only sends it.
    companion = postgres_companions()
    store = companion.views
    key = "writing-behind@v1"
    store.create_tables(["CREATE TABLE writing_behind (id {bigint} PRIMARY KEY)"])
    formatted_by: list[str] = []
    real = arrays._Copy.formatted

    def formatted(self: Any, rows: Any) -> Any:
        formatted_by.append(threading.current_thread().name)
        return real(self, rows)

    monkeypatch.setattr(arrays._Copy, "formatted", formatted)
    writer = BatchWriter(store, key, lambda position: None)
    for start in (0, 3):
        batch = writer.begin(start)
        for row in range(start, start + 3):
            batch.defer("INSERT INTO writing_behind (id) VALUES (:id)", {"id": row})
        writer.end(batch, start + 3, 3)
    writer.close()

    assert threading.current_thread().name in formatted_by
    with store.read() as cursor:
        assert [r["id"] for r in cursor.query("SELECT id FROM writing_behind ORDER BY id")] == [
            *range(6)
        ]
