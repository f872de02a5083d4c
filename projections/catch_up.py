"""How the runner applies the log to a read model: a batch, a catch-up, a rebuild.

A batch is read from the projection's tracking position (shared with other
read models when the runner follows the log, read ahead while the one before
is written when it is far behind), decoded only for the events its handlers
take, and applied in one transaction together with the new position. Where the
store allows it, a long catch-up writes each batch from a thread of its own
while it handles the next (`projections.writing`). A rebuild fills fresh
tables the same way, then switches them in for the live ones.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper

from projections.base import Projection
from projections.decoding import fields_decoder_for
from projections.positions import CommittedPositions
from projections.reading import ReadAhead, Row, SharedRead, read_rows, rows_of
from projections.store import ViewCursor, ViewStore
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


class CatchUp:
    """Applies the log to read models in batches, each in one transaction with its position.

    Every position it commits goes to `positions`; `beat` is called after each
    batch (the worker's heartbeat, when due), and a catch-up ends early once
    `stopping()` is true.
    """

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper,  # type: ignore[type-arg]
        store: ViewStore,
        positions: CommittedPositions,
        *,
        beat: Callable[[], None],
        stopping: Callable[[], bool],
    ) -> None:
        self.recorder = recorder
        self.store = store
        self.positions = positions
        self._decode = fields_decoder_for(mapper)
        self._beat = beat
        self._stopping = stopping

    def head(self) -> int:
        """The last notification id of the log (0 when it is empty)."""
        return self.recorder.max_notification_id() or 0

    def step(
        self,
        projection: Projection,
        batch_size: int,
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
                batch_size,
                read=read,
                ahead=ahead,
            )
            if reached > start:
                self.store.announce(cursor, projection.name, reached)
        self.positions.commit(projection.name, reached)
        return count

    def _apply_batch(
        self,
        projection: Projection,
        cursor: ViewCursor,
        start: int,
        head: int,
        batch_size: int,
        read: SharedRead | None = None,
        ahead: ReadAhead | None = None,
    ) -> tuple[int, int]:
        if head <= start:
            return 0, start
        count, reached = self.handle_batch(projection, cursor, start, head, batch_size, read, ahead)
        cursor.flush()
        if reached > start:
            self.store.advance(cursor, projection.key, reached)
        return count, reached

    def handle_batch(
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
                    count, position = self.handle_batch(
                        projection, batch, position, target, size, ahead=ahead
                    )
                    writer.end(batch, position, count)
                    batch = None
                    self._beat()
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
        batch_size: int,
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
                count = self.step(projection, batch_size, target, read, ahead)
                read = None  # good for one batch only
                total += count
                self._beat()
                reached = self.positions.known[name]
                if progress is not None:
                    progress(reached, max(target, reached))
                if reached >= target or count == 0 or self._stopping():
                    return total
                if ahead is None:  # far behind: read the next batch while writing this one
                    ahead = ReadAhead(self.recorder, projection.topics, batch_size, target)
                if not self.store.writes_behind:
                    continue
                count, reached, moved = self._write_behind(
                    projection,
                    reached,
                    target,
                    batch_size,
                    ahead,
                    committed=lambda position: self.positions.commit(name, position),
                    announce=name,
                    progress=progress,
                    stopping=self._stopping,
                )
                total += count
                if not moved:
                    return total
                # Another runner applied some of these meanwhile: go on from where it is.
        finally:
            if ahead is not None:
                ahead.close()

    def rebuild(self, projection: Projection, size: int, progress: Progress | None = None) -> int:
        """Rebuild from the start of the log into fresh tables, `size` events a batch, then
        switch them in.

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
        self.positions.commit(projection.name, position, allow_backwards=True)
        if progress is not None:
            progress(position, max(target, position))
        log.info("projection.rebuilt", projection=projection.key, events=total, position=position)
        return total
