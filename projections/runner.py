"""The projection runner: one loop that feeds every read model from the event log.

It reads the application's notification log in batches from each projection's
tracking position and applies a whole batch in one transaction together with
the new position. Unlike the library's runner it needs no subscription (so it
follows SQLite too), batches its writes, and lets a request wait for its own
event without polling when it runs in the same process.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import structlog
from eventsourcing.persistence import ApplicationRecorder, InterfaceError, Mapper, OperationalError
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from projections.base import Projection
from projections.decoding import fields_decoder_for
from projections.reading import ReadAhead, Row, SharedRead, read_rows, rows_of
from projections.store import PostgresViewStore, ViewCursor, ViewStore, Worker
from projections.writing import BatchWriter, PositionMoved

log = structlog.get_logger(__name__)


Progress = Callable[[int, int], None]
"""Called with (position reached, head of the log) after each batch."""


class _Interpreter:
    """Two settings of the interpreter's, changed while any catch-up writes behind.

    The garbage collector's first threshold, raised: a batch makes tens of
    thousands of objects (events, their states, the rows' parameters) that live
    until it is handed to the writer; the collector takes them for survivors,
    promotes them and walks them again and again, which was a third of a
    catch-up's time. At 50,000 allocations instead of 700 it still collects, a
    few times a batch.

    The switch interval, shortened: the writer's thread waits for the server a
    few times a batch, and when the answer comes it waits again for the
    interpreter lock, which the decoding thread gives up only every 5 ms by
    default. Those waits made the writer, not the server, what the catch-up
    waited for.

    Both are the process's: the old values are back when the last catch-up ends.
    """

    THRESHOLD = 50_000
    SWITCH_INTERVAL = 0.0005

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._threshold: tuple[int, int, int] = gc.get_threshold()
        self._switch_interval = sys.getswitchinterval()

    @contextmanager
    def writing_behind(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._threshold = gc.get_threshold()
                self._switch_interval = sys.getswitchinterval()
                first, second, third = self._threshold
                gc.set_threshold(max(first, self.THRESHOLD), second, third)
                sys.setswitchinterval(min(self._switch_interval, self.SWITCH_INTERVAL))
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    gc.set_threshold(*self._threshold)
                    sys.setswitchinterval(self._switch_interval)


_INTERPRETER = _Interpreter()


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
        safety_poll_interval: float = 1.0,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self._decode = fields_decoder_for(mapper)
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.safety_poll_interval = safety_poll_interval
        self._worker: Worker | None = None
        self._next_beat = 0.0
        self._waiting = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._committed = threading.Condition()
        self._positions: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._unlisten = threading.Event()
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

    def step(
        self,
        projection: Projection,
        head: int | None = None,
        read: SharedRead | None = None,
        ahead: ReadAhead | None = None,
    ) -> int:
        """Apply the next batch (up to `head`, else the log's); returns how many it read."""
        with self.store.write(projection.key) as cursor:
            start = self.store.position_in(cursor, projection.key)
            count, reached = self._apply_batch(
                projection,
                cursor,
                start,
                self.head() if head is None else head,
                read=read,
                ahead=ahead,
            )
            if reached > start:
                self.store.announce(cursor, projection.name, reached)
        self._committed_position(projection.name, reached)
        return count

    def _apply_batch(
        self,
        projection: Projection,
        cursor: ViewCursor,
        start: int,
        head: int,
        batch_size: int | None = None,
        read: SharedRead | None = None,
        ahead: ReadAhead | None = None,
    ) -> tuple[int, int]:
        if head <= start:
            return 0, start
        count, reached = self._handle_batch(
            projection, cursor, start, head, batch_size or self.batch_size, read, ahead
        )
        cursor.flush()
        if reached > start:
            self.store.advance(cursor, projection.key, reached)
        return count, reached

    def _handle_batch(
        self,
        projection: Projection,
        cursor: ViewCursor,
        start: int,
        head: int,
        limit: int,
        read: SharedRead | None = None,
        ahead: ReadAhead | None = None,
    ) -> tuple[int, int]:
        """Hand the batch after `start` to the handlers; how many it read, and the position
        it reaches (its writes are in `cursor`, not yet flushed)."""
        # Every notification up to the head is committed (ids are drawn in commit
        # order: our PostgreSQL recorder's counter row, SQLite's single writer), so a
        # filtered read that comes back short may safely move the position up to the
        # head, holes or not.
        # test_runner_guarantees.py fails if the recorder stops keeping that order.
        topics = projection._topics
        rows: Sequence[Row]
        if read is not None and read.covers(start, head):
            rows = rows_of([n for n in read.notifications if n.id > start and n.topic in topics])
            limit = len(rows) + 1  # all there is up to the head
        else:
            fetched = ahead.take(start, limit, head) if ahead is not None else None
            rows = (
                fetched
                if fetched is not None
                else read_rows(self.recorder, start + 1, limit, head, projection.topics)
            )
            if ahead is not None:
                ahead.start(head if len(rows) < limit else rows[-1][0])
        decode, handle = self._decode, projection.handle
        for position, originator_id, version, topic, state in rows:
            # The read is filtered by topic already; a recorder that ignores the
            # filter costs a comparison an event, never a decoding.
            if topic in topics:
                handle(cursor, decode(topic, originator_id, version, state), position)
        projection.before_commit(cursor)
        return len(rows), head if len(rows) < limit else rows[-1][0]

    def _write_behind(
        self,
        projection: Projection,
        start: int,
        target: int,
        size: int,
        ahead: ReadAhead,
        *,
        committed: Callable[[int], None],
        announce: str | None,
        progress: Progress | None,
        stopping: Callable[[], bool],
    ) -> tuple[int, int, bool]:
        """Apply batches from `start` to `target`, each written while the next is handled.

        Returns how many events were committed, the position committed, and
        whether it stopped because another runner had moved the position (see
        `projections.writing`).
        """
        writer = BatchWriter(self.store, projection.key, committed, announce)
        position, batch = start, None
        try:
            with _INTERPRETER.writing_behind():
                while position < target and not stopping():
                    batch = writer.begin(position)
                    count, position = self._handle_batch(
                        projection, batch, position, target, size, ahead=ahead
                    )
                    writer.end(batch, position, count)
                    batch = None
                    self._beat_if_due()
                    if progress is not None and writer.position is not None:
                        progress(writer.position, max(target, writer.position))
        except BaseException:
            if batch is not None:
                writer.abandon(batch)
            with contextlib.suppress(Exception):  # this error says more than the writer's
                writer.close()
            raise
        try:
            writer.close()
        except PositionMoved:
            return writer.written, writer.position or start, True
        return writer.written, writer.position or start, False

    def catch_up(
        self,
        projection: Projection,
        progress: Progress | None = None,
        head: int | None = None,
        read: SharedRead | None = None,
    ) -> int:
        """Apply batches until the projection reaches `head` (the log's when it starts)."""
        total = 0
        target = self.head() if head is None else head
        ahead: ReadAhead | None = None
        name = projection.name
        try:
            while True:
                count = self.step(projection, target, read, ahead)
                read = None  # good for one batch only
                total += count
                self._beat_if_due()
                reached = self._positions[name]
                if progress is not None:
                    progress(reached, max(target, reached))
                if reached >= target or count == 0 or self._stopping.is_set():
                    return total
                if ahead is None:  # far behind: read the next batch while writing this one
                    ahead = ReadAhead(self.recorder, projection.topics, self.batch_size, target)
                if not self.store.writes_behind:
                    continue
                count, reached, moved = self._write_behind(
                    projection,
                    reached,
                    target,
                    self.batch_size,
                    ahead,
                    committed=lambda position: self._committed_position(name, position),
                    announce=name,
                    progress=progress,
                    stopping=self._stopping.is_set,
                )
                total += count
                if not moved:
                    return total
                # Another runner applied some of these meanwhile: go on from where it is.
        finally:
            if ahead is not None:
                ahead.close()

    def rebuild(
        self,
        projection: Projection,
        progress: Progress | None = None,
        *,
        batch_size: int | None = None,
    ) -> int:
        """Rebuild from the start of the log into fresh tables, then switch them in.

        The fresh tables fill in one short transaction a batch, under a tracking
        key of their own, while the live tables keep serving reads and the live
        runner keeps them current. Once caught up, one transaction under the
        projection's lock applies the last few events, drops the live tables,
        renames the fresh ones in their place and carries the position over:
        readers see the old tables or the new ones, never neither.
        """
        fresh = projection.fresh()
        with self.store.write(fresh.key) as cursor:
            self.store.drop_tables(cursor, fresh.tables)  # a rebuild that died half-way
            self.store.reset(cursor, fresh.key)
        self.store.create_tables(fresh.ddl())
        size = max(batch_size or self.batch_size, 1)
        total, position, target = 0, 0, self.head()
        ahead = ReadAhead(self.recorder, fresh.topics, size, target)
        try:
            if self.store.writes_behind:
                total, position, moved = self._write_behind(
                    fresh,
                    0,
                    target,
                    size,
                    ahead,
                    committed=lambda position: None,
                    announce=None,
                    progress=progress,
                    stopping=lambda: False,
                )
                if moved:
                    raise PositionMoved(f"another rebuild of {projection.key} is under way")
            while position < target:
                with self.store.write(fresh.key) as cursor:
                    count, position = self._apply_batch(
                        fresh, cursor, position, target, size, ahead=ahead
                    )
                total += count
                if progress is not None:
                    progress(position, max(target, position))
        finally:
            ahead.close()
        with self.store.write(projection.key) as cursor:
            while True:  # the events appended since: a few batches at most
                head = self.head()
                count, position = self._apply_batch(fresh, cursor, position, head, size)
                total += count
                if position >= head:
                    break
            self.store.replace_tables(
                cursor, dict(zip(fresh.tables, projection.tables, strict=True)), projection.ddl()
            )
            self.store.reset(cursor, fresh.key)
            self.store.reset(cursor, projection.key)
            if position:
                self.store.advance(cursor, projection.key, position)
                self.store.announce(cursor, projection.name, position)
        self._committed_position(projection.name, position, allow_backwards=True)
        if progress is not None:
            progress(position, max(target, position))
        log.info("projection.rebuilt", projection=projection.key, events=total, position=position)
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
        head = self.head()  # once for all of them
        # Positions only move forward, so one this process committed at the head
        # has nothing to read.
        behind = [p for p in self.projections.values() if self._positions.get(p.name, 0) < head]
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
            with self.store.write_all(keys) as cursor:
                starts = self.store.positions_in(cursor, keys)
                for projection in projections:
                    start = starts[projection.key]
                    if start >= head:
                        continue  # another runner applied them meanwhile
                    count, position = self._handle_batch(
                        projection, cursor, start, head, self.batch_size, read
                    )
                    cursor.flush()
                    total += count
                    if position > start:
                        reached[projection.key] = position
                if reached:
                    self.store.advance_all(cursor, reached)
                    self.store.announce_all(
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
                self._committed_position(projection.name, reached[projection.key])
            else:
                self._committed_position(projection.name, starts[projection.key])
        return total

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
            channel = getattr(self.recorder, "channel_name", None)
            datastore = getattr(self.recorder, "datastore", None)
            if channel is not None and isinstance(datastore, PostgresDatastore):
                threading.Thread(
                    target=self._listen,
                    args=(channel, datastore),
                    name="projection-listen",
                    daemon=True,
                ).start()

    def _listen(self, channel: str, datastore: PostgresDatastore) -> None:
        """Wake the loop when any process appends: the recorder NOTIFYs on every insert.

        Without it a runner in its own process would see other processes' events
        only at its next poll.
        """
        statement = sql.SQL("LISTEN {}").format(sql.Identifier(channel))
        pool = datastore.pool
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
        self._unlisten.set()
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
            return self._poll_for(position, names, deadline)

        def applied() -> bool:
            return all(self._positions.get(n, 0) >= position for n in names)

        with self._committed:
            self._waiting += 1
        try:
            while True:
                check = min(deadline, time.monotonic() + self.safety_poll_interval)
                with self._committed:
                    if self._committed.wait_for(applied, max(0.0, check - time.monotonic())):
                        return True
                if time.monotonic() >= deadline:
                    return False
                if not self.running:  # the safety net: an announcement lost, say
                    for name in names:
                        self._committed_position(name, self.position(name))
        finally:
            with self._committed:
                self._waiting -= 1

    def _poll_for(self, position: int, names: Sequence[str], deadline: float) -> bool:
        interval = 0.005
        while True:
            if all(self.position(n) >= position for n in names):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 2, 0.05)

    def _listening(self) -> bool:
        """Whether this process hears other processes' commits (and starts to if it can)."""
        if not isinstance(self.store, PostgresViewStore):
            return False
        with self._committed:
            if self._listener is None or not self._listener.is_alive():
                self._unlisten.clear()
                self._listener = threading.Thread(
                    target=self._follow_positions,
                    args=(self.store,),
                    name="projection-positions",
                    daemon=True,
                )
                self._listener.start()
        return True

    def _follow_positions(self, store: PostgresViewStore) -> None:
        """Take in every position another process announces, and wake the waiters."""
        while not self._unlisten.is_set():
            try:
                for name, position in store.listen(self._unlisten.is_set, timeout=1.0):
                    if not name:
                        # Listening from now on: what was committed before, read once.
                        for known in self.projections:
                            self._committed_position(known, self.position(known))
                    elif name in self.projections:
                        self._committed_position(name, position)
            except psycopg.Error:
                log.warning("projections.positions_listen_failed", retry_in=1.0)
                self._unlisten.wait(1.0)
