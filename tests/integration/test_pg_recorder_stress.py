"""Sixteen writers, commits held open at random, a PostgreSQL restart: the reader misses nothing.

The projection runner follows the log while four processes' worth of
recorders (four writers each) append one event per transaction; a trigger
holds some commits open for a random while, and the server is restarted
half way. What the runner applied is then compared with what the table holds:
every committed event exactly once, in one increasing order.

The server is a throwaway cluster of the test's own (initdb into a temporary
folder, a free port), never the shared one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from companion.app.bootstrap import Companion
from companion.domain.conversations import Conversation
from projections.base import Projection, handles
from projections.runner import ProjectionRunner
from projections.store import ViewCursor
from tests.support.companions import Companions
from tests.support.services import require_service

pytestmark = pytest.mark.postgres

PROCESSES = 4
WRITERS_EACH = 4
EVENTS_EACH = 30


# -- a cluster of the test's own ----------------------------------------------------


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        require_service("PostgreSQL's initdb", FileNotFoundError("/usr/lib/postgresql/*/bin"))
    return Path(found[-1]).parent


def _as_postgres(*args: str) -> list[str]:
    """initdb and the server refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="companion-stress-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str) -> None:
        subprocess.run(_as_postgres(*args), check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync",
        )  # fmt: skip

    def pg_ctl(self, action: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c max_connections=200 -c fsync=off"
        )
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
            "-o", options, "-m", "fast", "-w", "-t", "60", action,
        )  # fmt: skip

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.init()
        cluster.pg_ctl("start")
    except (OSError, subprocess.SubprocessError) as error:
        cluster.remove()
        require_service("a throwaway PostgreSQL cluster", error)
    yield cluster
    cluster.remove()


# -- the reader's record --------------------------------------------------------------


class Seen(Projection):
    """Every message the runner applied, with its position, in the order it applied them."""

    name: ClassVar[str] = "stress_seen"
    version: ClassVar[int] = 1
    table_stems: ClassVar[tuple[str, ...]] = ("seen",)

    def __init__(self) -> None:
        self.applied = 0

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table('seen')} (applied {{bigint}} NOT NULL,"
            " position {bigint} NOT NULL, originator_id {uuid} NOT NULL, version {bigint} NOT NULL)"
        ]

    @handles(Conversation.Started, Conversation.UserMessageSent)
    def seen(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self.applied += 1
        cursor.defer(
            f"INSERT INTO {self.table('seen')} (applied, position, originator_id, version)"
            " VALUES (:applied, :position, :originator_id, :version)",
            {
                "applied": self.applied,
                "position": position,
                "originator_id": event.originator_id,
                "version": event.originator_version,
            },
        )


# -- the writers ------------------------------------------------------------------------


def stream_of(companion: Companion, count: int) -> list[StoredEvent]:
    """A conversation's events, encoded as the application would store them."""
    conversation = Conversation(user_id=uuid4(), character_id=uuid4())
    for n in range(count - 1):
        conversation.send_user_message(f"message {n}", client_message_id=None, message_id=uuid4())
    mapper = companion.application.mapper
    return [mapper.to_stored_event(event) for event in conversation.collect_events()]


def append_each(companion: Companion, events: list[StoredEvent]) -> int:
    """One event a transaction; returns how many attempts failed on a lost server.

    After a failure the same event is sent again: a conflict then means the
    failed attempt had committed (this writer alone writes its stream).
    """
    recorder = companion.application.recorder
    failures = 0
    for stored in events:
        while True:
            try:
                recorder.insert_events([stored])
                break
            except IntegrityError:
                assert failures, "a conflict without a failed attempt before it"
                break
            except OperationalError:
                failures += 1
                time.sleep(0.05)
        if random.random() < 0.05:
            time.sleep(random.uniform(0, 0.01))
    return failures


HOLD_AT_RANDOM = """
CREATE FUNCTION hold_at_random() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF random() < 0.1 THEN PERFORM pg_sleep(random() * 0.02); END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER hold_at_random AFTER INSERT ON companion_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_at_random();
"""


def test_sixteen_writers_and_a_restart_the_runner_sees_every_committed_event_once_in_order(
    cluster: Cluster, tmp_path: Path
) -> None:
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE stress")
    url = cluster.url.rsplit("/", 1)[0] + "/stress"
    companions = Companions("postgres", lambda: url, tmp_path)
    try:
        processes = [companions(postgres_pool_size=WRITERS_EACH) for _ in range(PROCESSES)]
        reader = processes[0]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(HOLD_AT_RANDOM)
        seen = Seen()
        app = reader.application
        runner = ProjectionRunner(
            app.recorder, app.mapper, reader.views, [seen], batch_size=25, poll_interval=0.05
        )
        streams = [
            (process, stream_of(process, EVENTS_EACH))
            for process in processes
            for _ in range(WRITERS_EACH)
        ]
        failures: list[int] = []
        errors: list[BaseException] = []

        def write(process: Companion, events: list[StoredEvent]) -> None:
            try:
                failures.append(append_each(process, events))
            except BaseException as error:
                errors.append(error)

        writers = [threading.Thread(target=write, args=stream) for stream in streams]
        runner.start()
        try:
            for writer in writers:
                writer.start()
            time.sleep(0.3)
            cluster.pg_ctl("restart")
            for writer in writers:
                writer.join()
            assert errors == []
            head = app.recorder.max_notification_id()
            deadline = time.monotonic() + 60  # only turns a hang into a failure
            while runner.position(seen.name) < (head or 0) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            runner.stop()
        with psycopg.connect(url) as conn:
            stored = conn.execute(
                "SELECT notification_id, originator_id, originator_version FROM companion_events"
                " ORDER BY notification_id"
            ).fetchall()
            applied = conn.execute(
                f"SELECT position, originator_id, version FROM {seen.table('seen')}"
                " ORDER BY applied"
            ).fetchall()
    finally:
        companions.close()

    assert sum(failures) > 0, "the restart should have failed some appends"
    assert len(stored) == PROCESSES * WRITERS_EACH * EVENTS_EACH
    positions = [row[0] for row in applied]
    assert positions == sorted(set(positions)), "read twice or out of order"
    assert applied == stored, "a committed event was skipped"
    by_stream: dict[UUID, list[int]] = {}
    for _, originator_id, version in applied:
        by_stream.setdefault(originator_id, []).append(version)
    assert all(versions == list(range(1, EVENTS_EACH + 1)) for versions in by_stream.values())
