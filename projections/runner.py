"""The projection runner: one loop that feeds every read model from the event log.

It reads the application's notification log in batches from each projection's
tracking position and applies a whole batch in one transaction together with
the new position. Unlike the library's runner it needs no subscription (so it
follows SQLite too), batches its writes, and lets a request wait for its own
event without polling when it runs in the same process.

Here is the loop and what it decides; its parts are apart: applying batches,
catching up and rebuilding (`projections.catch_up`), the committed positions
and waiting for them (`projections.positions`), hearing other processes
(`projections.following`), the workers' heartbeats (`projections.heartbeats`) and,
for a worker sharing the read models with others, which of them it leads
(`projections.leadership`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from datetime import datetime

import psycopg
import structlog
from eventsourcing.persistence import ApplicationRecorder, InterfaceError, Mapper, OperationalError
from eventsourcing.postgres import PostgresDatastore

from projections.base import Projection
from projections.catch_up import CatchUp, Progress
from projections.following import AnnouncedPositions, wake_on_appends
from projections.heartbeats import Heartbeats, Worker
from projections.leadership import Leadership
from projections.positions import CommittedPositions, poll_for
from projections.postgres_views import PostgresViewStore
from projections.reading import ReadAhead, SharedRead
from projections.store import ViewStore

log = structlog.get_logger(__name__)


class ProjectionRunner:
    """Feeds `projections` from the log of `recorder` into `store`: on demand (`run_once`,
    `catch_up`, `rebuild`) or in a thread of its own (`start`), and answers how far each
    has come (`position`, `wait_for`)."""

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
        safety_poll_interval: float = 1.0,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.safety_poll_interval = safety_poll_interval
        self.leadership: Leadership | None = None
        """Which read models this runner applies, when it shares them with other workers
        (see `lead_with`); None: it applies every one."""
        self._writes: ViewStore = store
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._committed = CommittedPositions()
        # The same dict, read at every pass of the loop.
        self._positions = self._committed.known
        self._heartbeats = Heartbeats(store)
        self._catch_up = self._catching_up(store)
        self._announced = (
            AnnouncedPositions(store, self._committed, self.projections, self.position)
            if isinstance(store, PostgresViewStore)
            else None
        )
        self._thread: threading.Thread | None = None
        for projection in projections:
            _create_tables(store, projection)
            self._positions[projection.name] = store.position(projection.key)

    def _catching_up(self, store: ViewStore) -> CatchUp:
        return CatchUp(
            self.recorder,
            self.mapper,
            store,
            self._committed,
            beat=self._beat_if_due,
            stopping=self._stopping.is_set,
        )

    def lead_with(self, leadership: Leadership) -> None:
        """Share the read models with other workers: from now on this runner applies only
        those `leadership` leads, and each of its write transactions passes its fence.
        Before `start`."""
        self.leadership = leadership
        self._writes = leadership.fenced(
            self.store, {p.key: p.name for p in self.projections.values()}
        )
        self._catch_up = self._catching_up(self._writes)

    def leading(self) -> list[Projection]:
        """The read models this runner applies: those it leads, else every one."""
        if self.leadership is None:
            return list(self.projections.values())
        led = self.leadership.led
        return [p for p in self.projections.values() if p.name in led]

    # -- reading the state -----------------------------------------------------------

    def head(self) -> int:
        return self._catch_up.head()

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
        return self._heartbeats.last()

    def workers(self) -> list[Worker]:
        """Every worker that has recorded a heartbeat, most recently seen first."""
        return self._heartbeats.workers()

    @property
    def waiting(self) -> int:
        """How many callers are blocked in `wait_for` right now."""
        return self._committed.waiting

    # -- processing ------------------------------------------------------------------

    def step(
        self,
        projection: Projection,
        head: int | None = None,
        read: SharedRead | None = None,
        ahead: ReadAhead | None = None,
    ) -> int:
        """Apply the next batch (up to `head`, else the log's); returns how many it read."""
        return self._catch_up.step(projection, self.batch_size, head, read, ahead)

    def catch_up(
        self,
        projection: Projection,
        progress: Progress | None = None,
        head: int | None = None,
        read: SharedRead | None = None,
    ) -> int:
        """Apply batches until the projection reaches `head` (the log's when it starts)."""
        return self._catch_up.catch_up(projection, self.batch_size, progress, head, read)

    def rebuild(
        self,
        projection: Projection,
        progress: Progress | None = None,
        *,
        batch_size: int | None = None,
    ) -> int:
        """Rebuild from the start of the log into fresh tables, then switch them in (see
        `CatchUp.rebuild`); `batch_size` events a batch, else the runner's."""
        size = max(batch_size or self.batch_size, 1)
        return self._catch_up.rebuild(projection, size, progress)

    # -- running -----------------------------------------------------------------------

    def run_once(self) -> int:
        """Bring every projection up to date; returns how many notifications were read."""
        head = self.head()  # once for all of them
        # Positions only move forward, so one this process committed at the head
        # has nothing to read.
        behind = [p for p in self.leading() if self._positions.get(p.name, 0) < head]
        if not behind:
            return 0
        # Following the log, the few new events are read once for every projection
        # rather than once each.
        after = min(self._positions.get(p.name, 0) for p in behind)
        read = None
        if head - after <= self.batch_size:
            notifications = self.recorder.select_notifications(
                start=after + 1, limit=self.batch_size, stop=head
            )
            if len(notifications) < self.batch_size:
                read = SharedRead(after, head, notifications)
        if read is not None and len(behind) > 1:
            applied = self._step_together(behind, head, read)
            if applied is not None:
                return applied
        return self._each_alone(behind, head, read)

    def _each_alone(
        self, projections: Sequence[Projection], head: int, read: SharedRead | None
    ) -> int:
        """Catch each read model up in transactions of its own. One that fails does not
        keep the others from the head: its error is raised once they have had their
        turn. The database lost is the end of the pass: the others would wait for it too."""
        applied, failure = 0, None
        for projection in projections:
            try:
                applied += self.catch_up(projection, head=head, read=read)
            except (OperationalError, InterfaceError, psycopg.OperationalError):
                raise
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure
        return applied

    def _step_together(
        self, projections: Sequence[Projection], head: int, read: SharedRead
    ) -> int | None:
        """Apply the few new events to every read model following the log, in one
        transaction: one lock statement, one read of the positions, one write of them.

        Each read model in a transaction of its own cost about seven statements,
        several of them round trips, for every read model after every save. If
        anything fails here, nothing of it is committed and None is returned: the
        caller then applies them one by one (`_each_alone`), so one read model's
        failure holds back only itself.
        """
        keys = [p.key for p in projections]
        reached: dict[str, int] = {}
        total = 0
        try:
            with self._writes.write_all(keys) as cursor:
                starts = self._writes.positions_in(cursor, keys)
                for projection in projections:
                    start = starts[projection.key]
                    if start >= head:
                        continue  # another runner applied them meanwhile
                    count, position = self._catch_up.handle_batch(
                        projection, cursor, start, head, self.batch_size, read
                    )
                    cursor.flush()
                    total += count
                    if position > start:
                        reached[projection.key] = position
                if reached:
                    self._writes.advance_all(cursor, reached)
                    self._writes.announce_all(
                        cursor, {p.name: reached[p.key] for p in projections if p.key in reached}
                    )
        except Exception as error:
            log.warning(
                "projections.together_failed",
                projections=keys,
                error=f"{type(error).__name__}: {error}",
            )
            return None
        for projection in projections:
            if projection.key in reached:
                self._committed.commit(projection.name, reached[projection.key])
            else:
                self._committed.commit(projection.name, starts[projection.key])
        return total

    def run_forever(self) -> None:
        """Follow the log until stop(); survives database outages by backing off.

        While it runs it records a heartbeat every `heartbeat_interval` seconds,
        so that a process without a runner of its own can tell whether anyone
        is following the log.
        """
        backoff = self.poll_interval
        leader = self.leadership
        self._heartbeats.begin(
            sorted(self.projections), worker_id=None if leader is None else leader.worker_id
        )
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                self._beat_if_due()
                led = frozenset[str]()
                try:
                    led = self._refresh_leadership(due=True)
                    self.run_once()
                except Exception:
                    with contextlib.suppress(Exception):
                        if led - self._refresh_leadership(due=False):
                            continue  # it lost a read model, and its batch: on without it
                    log.exception("projections.step_failed", retry_in=round(backoff, 2))
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = self.poll_interval
                self._wake.wait(self._pause())
        finally:
            self._heartbeats.end()
            if self.leadership is not None:
                self.leadership.close()  # no batch is in flight: the others may take over

    def _refresh_leadership(self, *, due: bool) -> frozenset[str]:
        """Take and let go of read models (`due`: only when the retry time has come); the
        read models led now. Each one newly led goes on from its committed position."""
        leadership = self.leadership
        if leadership is None:
            return frozenset(self.projections)
        before = leadership.led
        if due:
            leadership.refresh_if_due()
        else:
            leadership.refresh()
        led = leadership.led
        for name in led - before:
            self._committed.commit(name, self.position(name))
        return led

    def _pause(self) -> float:
        """How long the loop may wait for an append before its next pass."""
        pause = min(self.poll_interval, self.heartbeat_interval)
        if self.leadership is not None:
            pause = min(pause, self.leadership.retry_seconds)
        return pause

    def _beat_if_due(self) -> None:
        """Record this worker's heartbeat when it is due; only a running loop has one."""
        self._heartbeats.beat_if_due(self.heartbeat_interval)

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
            channel = getattr(self.recorder, "channel_name", None)
            datastore = getattr(self.recorder, "datastore", None)
            if channel is not None and isinstance(datastore, PostgresDatastore):
                threading.Thread(
                    target=wake_on_appends,
                    args=(channel, datastore, self._wake, self._stopping),
                    name="projection-listen",
                    daemon=True,
                ).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._announced is not None:
            self._announced.stop()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def notify(self, position: int) -> None:
        """New events were saved in this process: wake the loop now."""
        self._wake.set()

    # -- waiting for a position ----------------------------------------------------------

    def wait_for(self, position: int | None, names: Sequence[str], timeout: float) -> bool:
        """Block until the named projections have applied `position`; False on timeout.

        In-process, the runner's own commits wake the waiter. When the runner is
        another process, on PostgreSQL its commits are announced (NOTIFY) and a
        listener of this process wakes the waiter, with a read of the positions
        every `safety_poll_interval` seconds in case an announcement was lost;
        on SQLite, which cannot announce across processes, the tracking table is
        polled briefly.
        """
        if position is None:
            return True
        deadline = time.monotonic() + timeout
        if not self.running and not self._listening():
            return poll_for(position, names, deadline, self.position)
        return self._committed.wait_for(
            position,
            names,
            deadline,
            safety_poll_interval=self.safety_poll_interval,
            running=lambda: self.running,
            read=self.position,
        )

    def _listening(self) -> bool:
        """Whether this process hears other processes' commits (and starts to if it can)."""
        if self._announced is None:
            return False
        self._announced.listen()
        return True


def _create_tables(store: ViewStore, projection: Projection, attempts: int = 5) -> None:
    """Make the read model's tables, if they are not there.

    Another process may be applying batches to them meanwhile (a worker started
    beside others), and the DDL's locks can deadlock with a batch's (``CREATE
    INDEX IF NOT EXISTS`` locks its table even when the index is there): the
    server fails one of the two, and when it is this one, it is tried again.
    """
    for attempt in range(1, attempts + 1):
        try:
            store.create_tables(projection.ddl())
            return
        except Exception as error:
            if attempt == attempts or not _deadlocked(error):
                raise
            log.warning("projections.ddl_deadlocked", projection=projection.key, attempt=attempt)
            time.sleep(0.05 * attempt)


def _deadlocked(error: BaseException | None) -> bool:
    while error is not None:
        if isinstance(error, psycopg.errors.DeadlockDetected):
            return True
        error = error.__cause__ or error.__context__
    return False
