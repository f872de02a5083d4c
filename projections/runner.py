"""The projection runner: one loop that feeds every read model from the event log.

It reads the application's notification log in batches from each projection's
tracking position and applies a whole batch in one transaction together with
the new position. Unlike the library's runner it needs no subscription (so it
follows SQLite too), batches its writes, and lets a request wait for its own
event without polling when it runs in the same process.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from projections.base import Projection
from projections.store import ViewCursor, ViewStore, Worker

log = structlog.get_logger(__name__)
Progress = Callable[[int, int], None]
"""Called with (position reached, head of the log) after each batch."""


class ProjectionRunner:
    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper,  # type: ignore[type-arg]
        store: ViewStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        heartbeat_interval: float = 5.0,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self._worker: Worker | None = None
        self._next_beat = 0.0
        self._waiting = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._committed = threading.Condition()
        self._positions: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        for projection in projections:
            store.create_tables(projection.ddl())
            self._positions[projection.name] = store.position(projection.key)

    # -- reading the state -----------------------------------------------------------

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def position(self, name: str) -> int:
        return self.store.position(self.projections[name].key)

    def lag(self, name: str) -> int:
        return max(0, self.head() - self.position(name))

    def behind(self) -> int:
        """How many notifications the furthest-behind projection has yet to apply."""
        head = self.head()
        return max((max(0, head - self.position(n)) for n in self.projections), default=0)

    def last_heartbeat(self) -> datetime | None:
        """When any worker following the log (in any process) was last seen alive."""
        return self.store.last_heartbeat()

    def workers(self) -> list[Worker]:
        """Every worker that has recorded a heartbeat, most recently seen first."""
        return self.store.workers()

    @property
    def waiting(self) -> int:
        """How many callers are blocked in `wait_for` right now."""
        return self._waiting

    # -- processing ------------------------------------------------------------------

    def step(self, projection: Projection) -> int:
        """Apply the next batch; returns how many notifications it read."""
        with self.store.write(projection.key) as cursor:
            start = self.store.position_in(cursor, projection.key)
            count, reached = self._apply_batch(projection, cursor, start)
        self._committed_position(projection.name, reached)
        return count

    def _apply_batch(
        self, projection: Projection, cursor: ViewCursor, start: int
    ) -> tuple[int, int]:
        # Every notification up to the head is committed (the recorders keep
        # commit order equal to id order), so a filtered read that comes back
        # short may safely move the position up to the head. That order is the
        # recorders' doing, not ours: SQLite has one writer at a time and the
        # PostgreSQL recorder locks its table in every insert, so a writer that
        # drew a lower id commits before any higher id is drawn. Detecting gaps
        # here instead would need a wait on every hole, since rolled-back inserts
        # leave holes in a sequence forever. test_runner_guarantees.py fails if
        # the recorder stops keeping that order.
        head = self.head()
        if head <= start:
            return 0, start
        notifications = self.recorder.select_notifications(
            start=start + 1, limit=self.batch_size, stop=head, topics=projection.topics
        )
        for notification in notifications:
            projection.handle(cursor, self.mapper.to_domain_event(notification), notification.id)
        projection.before_commit(cursor)
        cursor.flush()
        reached = head if len(notifications) < self.batch_size else notifications[-1].id
        if reached > start:
            self.store.advance(cursor, projection.key, reached)
        return len(notifications), reached

    def catch_up(self, projection: Projection, progress: Progress | None = None) -> int:
        """Apply batches until the projection reaches the head it saw when it started."""
        total = 0
        target = self.head()
        while True:
            count = self.step(projection)
            total += count
            self._beat_if_due()
            reached = self._positions[projection.name]
            if progress is not None:
                progress(reached, max(target, reached))
            if reached >= target or count == 0 or self._stopping.is_set():
                return total

    def rebuild(self, projection: Projection, progress: Progress | None = None) -> int:
        """Rebuild from the start of the log in one transaction.

        Readers see the old rows until the rebuilt ones commit, and the live
        runner waits on the same lock, so it never interleaves with a rebuild.
        """
        total = 0
        with self.store.write(projection.key) as cursor:
            projection.clear(cursor)
            self.store.reset(cursor, projection.key)
            position, target = 0, self.head()
            while True:
                count, position = self._apply_batch(projection, cursor, position)
                total += count
                if progress is not None:
                    progress(position, max(target, position))
                if count < self.batch_size:
                    break
        self._committed_position(projection.name, position, allow_backwards=True)
        log.info("projection.rebuilt", projection=projection.key, events=total)
        return total

    def _committed_position(
        self, name: str, position: int, *, allow_backwards: bool = False
    ) -> None:
        with self._committed:
            if allow_backwards or position > self._positions.get(name, 0):
                self._positions[name] = position
            self._committed.notify_all()

    # -- running -----------------------------------------------------------------------

    def run_once(self) -> int:
        """Bring every projection up to date; returns how many notifications were read."""
        return sum(self.catch_up(p) for p in self.projections.values())

    def run_forever(self) -> None:
        """Follow the log until stop(); survives database outages by backing off.

        While it runs it records a heartbeat every `heartbeat_interval` seconds,
        so that a process without a runner of its own can tell whether anyone
        is following the log.
        """
        backoff = self.poll_interval
        self._worker = Worker(
            worker_id=uuid4().hex,
            host=socket.gethostname(),
            pid=os.getpid(),
            projections=sorted(self.projections),
            started_at=datetime.now(UTC),
            last_seen=datetime.now(UTC),
        )
        self._next_beat = 0.0
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                self._beat_if_due()
                try:
                    self.run_once()
                except Exception:
                    log.exception("projections.step_failed", retry_in=round(backoff, 2))
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = self.poll_interval
                self._wake.wait(min(self.poll_interval, self.heartbeat_interval))
        finally:
            self._worker = None

    def _beat_if_due(self) -> None:
        """Record this worker's heartbeat when it is due; only a running loop has one."""
        worker = self._worker
        if worker is None or time.monotonic() < self._next_beat:
            return
        self._next_beat = time.monotonic() + self.heartbeat_interval
        worker.last_seen = datetime.now(UTC)
        try:
            self.store.record_heartbeat(worker)
        except Exception:
            # A missed beat is only a missed beat: the projections must not stop for it.
            log.warning("projections.heartbeat_failed", exc_info=True)

    @property
    def running(self) -> bool:
        """Whether this process follows the log itself (else another process does)."""
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self.run_forever, name="projection-runner", daemon=True
            )
            self._thread.start()
            if isinstance(self.recorder, PostgresApplicationRecorder):
                threading.Thread(
                    target=self._listen,
                    args=(self.recorder,),
                    name="projection-listen",
                    daemon=True,
                ).start()

    def _listen(self, recorder: PostgresApplicationRecorder) -> None:
        """Wake the loop when any process appends: the recorder NOTIFYs on every insert.

        Without it a runner in its own process would see other processes' events
        only at its next poll.
        """
        statement = sql.SQL("LISTEN {}").format(sql.Identifier(recorder.channel_name))
        pool = recorder.datastore.pool
        while not self._stopping.is_set():
            kwargs = pool.kwargs() if callable(pool.kwargs) else dict(pool.kwargs or {})
            conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
            try:
                with psycopg.connect(conninfo, **kwargs, autocommit=True) as conn:
                    conn.execute(statement)
                    self._wake.set()  # anything appended while not listening
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except psycopg.Error:
                log.warning("projections.listen_failed", retry_in=1.0)
                self._stopping.wait(1.0)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def notify(self, position: int) -> None:
        """New events were saved in this process: wake the loop now."""
        self._wake.set()

    def wait_for(self, position: int | None, names: Sequence[str], timeout: float) -> bool:
        """Block until the named projections have applied `position`; False on timeout.

        In-process, the runner's own commits wake the waiter; otherwise (the
        runner is another process) the tracking table is polled briefly.
        """
        if position is None:
            return True
        deadline = time.monotonic() + timeout
        if self.running:
            with self._committed:
                self._waiting += 1
                try:
                    return self._committed.wait_for(
                        lambda: all(self._positions.get(n, 0) >= position for n in names),
                        timeout=timeout,
                    )
                finally:
                    self._waiting -= 1
        interval = 0.005
        while True:
            if all(self.position(n) >= position for n in names):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 2, 0.05)
