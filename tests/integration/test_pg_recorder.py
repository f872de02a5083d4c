"""Our PostgreSQL recorder passes the library's own recorder test cases, and keeps its promises.

The library's abstract cases are subclassed as they are: each test gets a new
database and the recorders the application would get from its settings.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import resource
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from companion.adapters.pg_connections import idle_connection_alive
from companion.adapters.pg_recorder import PgApplicationRecorder
from companion.adapters.pg_schema import StoreLayoutOutdated
from companion.adapters.postgres_store import PostgresStoreFactory
from companion.app.persistence import store_for
from companion.app.settings import Settings

pytestmark = pytest.mark.postgres


def store_factory(url: str) -> PostgresStoreFactory:
    """The factory the application builds for this database URL."""
    settings = Settings(_env_file=None, database_url=url, cipher_key=None)  # type: ignore[call-arg]
    return PostgresStoreFactory(Environment("companion", store_for(settings).event_env))


class OnANewDatabase:
    """Each test of a library case runs on a database of its own."""

    factory: PostgresStoreFactory

    @pytest.fixture(autouse=True)
    def _database(self, postgres_url: str) -> Iterator[None]:
        self.factory = store_factory(postgres_url)
        yield
        self.factory.close()


class TestApplicationRecorder(OnANewDatabase, ApplicationRecorderTestCase[PgApplicationRecorder]):
    def create_recorder(self) -> PgApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert isinstance(recorder, PgApplicationRecorder)
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestTrackingRecorder(OnANewDatabase, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory.tracking_recorder()


class TestNonInterleavingNotificationIDs(OnANewDatabase, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> PgApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert isinstance(recorder, PgApplicationRecorder)
        return recorder


# -- our own promises ------------------------------------------------------------------


@pytest.fixture
def recorder(postgres_url: str) -> Iterator[PgApplicationRecorder]:
    factory = store_factory(postgres_url)
    recorder = factory.application_recorder()
    assert isinstance(recorder, PgApplicationRecorder)
    yield recorder
    factory.close()


def event(originator_id: Any, version: int) -> StoredEvent:
    return StoredEvent(originator_id, version, "topic", b"state")


def test_the_same_version_twice_is_a_conflict_and_leaves_no_hole(
    recorder: PgApplicationRecorder,
) -> None:
    stream = uuid4()
    assert recorder.insert_events([event(stream, 1)]) == [1]
    with pytest.raises(IntegrityError):
        recorder.insert_events([event(stream, 2), event(stream, 1)])
    assert recorder.max_notification_id() == 1
    assert recorder.insert_events([event(stream, 2)]) == [2]


def test_concurrent_writers_of_one_version_one_wins_the_others_conflict(
    recorder: PgApplicationRecorder,
) -> None:
    """Appends that share a commit still conflict one by one: only the loser fails."""
    streams = [uuid4() for _ in range(8)]
    contested = uuid4()
    barrier = threading.Barrier(16)
    outcomes: list[str] = []

    def append(stream: Any) -> None:
        barrier.wait()
        try:
            recorder.insert_events([event(stream, 1)])
            outcomes.append("ok")
        except IntegrityError:
            outcomes.append("conflict")
        except BaseException as error:
            outcomes.append(repr(error))

    threads = [threading.Thread(target=append, args=(s,)) for s in streams]
    threads += [threading.Thread(target=append, args=(contested,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"] * 9
    notifications = recorder.select_notifications(start=None, limit=100)
    assert [n.id for n in notifications] == list(range(1, 10))
    assert {n.originator_id for n in notifications} == {*streams, contested}


def test_each_append_is_one_round_trip_with_its_wake_up(
    recorder: PgApplicationRecorder, postgres_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{recorder.channel_name}"')
        warm_up = 2 * recorder.datastore.pool.max_size
        for _ in range(warm_up):
            # Each pooled connection prepares the statement once, in a round trip of its own.
            recorder.insert_events([event(uuid4(), 1)])
        trace = tmp_path / "protocol.trace"
        with _traced(recorder, trace):
            recorder.insert_events([event(uuid4(), 1)])
        woken = list(listener.notifies(timeout=5, stop_after=warm_up + 1))
    assert _round_trips(trace) == 1
    assert [n.channel for n in woken] == [recorder.channel_name] * (warm_up + 1)


@contextlib.contextmanager
def _traced(recorder: PgApplicationRecorder, path: Path) -> Iterator[None]:
    """libpq's trace of the protocol messages of the connection an append uses."""
    original = recorder._insert_and_notify
    with path.open("w") as file:

        def traced(conn: Any, *args: Any) -> Any:
            conn.pgconn.trace(file.fileno())
            try:
                return original(conn, *args)
            finally:
                conn.pgconn.untrace()

        recorder._insert_and_notify = traced  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            recorder._insert_and_notify = original  # type: ignore[method-assign]


def _round_trips(trace: Path) -> int:
    """How many times the client sent messages and then waited for the server's."""
    directions = [line.split("\t")[1] for line in trace.read_text().splitlines() if "\t" in line]
    return sum(1 for sent, got in itertools.pairwise(directions) if (sent, got) == ("F", "B"))


def test_a_store_in_the_librarys_layout_is_refused_with_one_line(postgres_url: str) -> None:
    from eventsourcing.postgres import PostgresApplicationRecorder

    factory = store_factory(postgres_url)
    try:
        old = PostgresApplicationRecorder(factory.datastore, events_table_name="companion_events")
        old.create_table()
        old.insert_events([event(uuid4(), 1)])
        with pytest.raises(StoreLayoutOutdated) as refused:
            factory.application_recorder()
    finally:
        factory.close()
    assert "companion store migrate" in str(refused.value)
    assert "\n" not in str(refused.value)


HOLD_APPEND = 4444


def test_a_lost_connection_is_the_librarys_error_and_appends_nothing_twice(
    recorder: PgApplicationRecorder, postgres_admin_url: str, postgres_url: str
) -> None:
    """An append whose connection is lost while the server has it is neither swallowed nor
    sent again: the caller gets the library's error, and its own retry appends it once."""
    stream = uuid4()
    assert recorder.insert_events([event(stream, 1)]) == [1]
    outcome: list[object] = []

    def append_second() -> None:
        try:
            outcome.append(recorder.insert_events([event(stream, 2)]))
        except BaseException as error:
            outcome.append(error)

    with psycopg.connect(postgres_url, autocommit=True) as holder:
        # The append of version 2 stops inside its statement, before its commit,
        # for as long as this session holds the advisory lock.
        holder.execute(
            "CREATE FUNCTION hold_append() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.originator_version = 2 THEN PERFORM pg_advisory_xact_lock({HOLD_APPEND});"
            " END IF; RETURN NEW; END $$"
        )
        holder.execute(
            "CREATE TRIGGER hold_append BEFORE INSERT ON companion_events"
            " FOR EACH ROW EXECUTE FUNCTION hold_append()"
        )
        holder.execute("SELECT pg_advisory_lock(%s)", (HOLD_APPEND,))
        thread = threading.Thread(target=append_second, daemon=True)
        thread.start()
        try:
            appending = _backend_waiting_for(holder, HOLD_APPEND)
            with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (appending,))
        finally:
            # A recorder that sent the append again would now get it through.
            holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD_APPEND,))
            thread.join(30)
        assert not thread.is_alive()

    (error,) = outcome
    assert isinstance(error, OperationalError), error
    assert not isinstance(error, psycopg.Error)
    appended = _stored(postgres_url)
    assert appended in ([(1, 1)], [(1, 1), (2, 2)])

    # The caller's retry (after its 503): appended once, without a hole.
    if appended == [(1, 1)]:
        assert recorder.insert_events([event(stream, 2)]) == [2]
    else:
        with pytest.raises(IntegrityError):
            recorder.insert_events([event(stream, 2)])
    assert _stored(postgres_url) == [(1, 1), (2, 2)]


def _backend_waiting_for(connection: psycopg.Connection[Any], lock: int) -> int:
    """The server process of the statement waiting for advisory `lock`, once one does."""
    for _ in range(4000):
        row = connection.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
            (lock,),
        ).fetchone()
        if row is not None:
            return int(row[0])
        connection.execute("SELECT pg_sleep(0.005)")
    pytest.fail("the append never reached the held insert")


def _stored(postgres_url: str) -> list[tuple[int, int]]:
    """(notification id, version) of every stored event, in id order."""
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_version FROM companion_events"
            " ORDER BY notification_id"
        ).fetchall()
    return [(int(i), int(v)) for i, v in rows]


def test_the_check_before_use_finds_a_connection_the_server_closed_without_a_query(
    postgres_admin_url: str, postgres_url: str
) -> None:
    with (
        psycopg.connect(postgres_url, autocommit=True) as alive,
        psycopg.connect(postgres_url, autocommit=True) as notified,
        psycopg.connect(postgres_url, autocommit=True) as closed,
    ):
        notified.execute("LISTEN somewhere")
        alive.execute("NOTIFY somewhere")
        pid = closed.info.backend_pid
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        idle_connection_alive(alive)
        idle_connection_alive(notified)  # something to read, but not an end
        with pytest.raises(psycopg.OperationalError):
            idle_connection_alive(closed)


def test_the_check_before_use_works_on_descriptors_above_1024(postgres_url: str) -> None:
    """A process holding thousands of sockets (WebSockets) gets connections with high
    descriptors; the check must not be select()'s, which refuses them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4096)
    assert wanted > 1100, "the test needs an open-file limit above 1100"
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    padding: list[int] = []
    try:
        while not padding or padding[-1] < 1100:
            padding.append(os.open(os.devnull, os.O_RDONLY))
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            assert conn.pgconn.socket > 1024
            idle_connection_alive(conn)
            conn.execute("NOTIFY somewhere")
            idle_connection_alive(conn)
    finally:
        for fd in padding:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
