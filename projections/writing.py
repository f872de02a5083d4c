"""How a catch-up writes its batches: in a thread of its own, one batch behind.

Left to one thread, a catch-up decodes and handles a batch, then waits while the
database writes it and commits, then decodes the next. Here the handlers of a
batch write to a `BatchCursor` that only keeps their statements; the writer's
thread sends them in a transaction of the view store's, with the batch's new
tracking position, and commits, while the next batch is decoded and handled.

What the runner promised before still holds. A batch's rows and its position
are committed together; its position counts as committed (and is announced)
only once they are. Batches are written in their order, one transaction each,
and the first that fails stops the writer: no later batch is begun, so no later
position is committed, and the catch-up raises that error (a restart applies
again from the last committed position). A batch's transaction asks, under
the projection's lock, for the position and reads the answer at its first wait
for the server (before a read, at its COPY, at the latest before its advance):
if it is not the one the batch was read from, nothing of it is written
(`PositionMoved`, also when the batch failed on rows another runner wrote), as
another runner applied those events meanwhile. A read inside a batch (`query`) is made by the
writer in the batch's transaction, after the batch's earlier statements and the
previous batch's commit, so it sees what a read made in turn would.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any

from projections.arrays import copied
from projections.store import Row, ViewCursor, ViewStore

Statements = list[tuple[str, Mapping[str, Any]]]


class PositionMoved(Exception):
    """Another runner moved the position since the batch was read: it was not written."""


class _End:
    def __init__(self, statements: Statements, reached: int, count: int) -> None:
        self.statements, self.reached, self.count = statements, reached, count


class _Query:
    def __init__(self, statements: Statements, sql: str, params: Mapping[str, Any] | None):
        self.statements, self.sql, self.params = statements, sql, params
        self.rows: Future[list[Row]] = Future()


class _Abandon:
    """The batch will not be ended: roll back what was sent of it."""


_Step = _End | _Query | _Abandon


class BatchCursor(ViewCursor):
    """What a batch's handlers write to: their statements, in order, for the writer.

    An ``execute`` is kept in its turn like a ``defer``; a ``query`` waits for
    the writer to send what came before it and read.
    """

    def __init__(self, start: int) -> None:
        super().__init__()
        self.start = start
        self.steps: SimpleQueue[_Step] = SimpleQueue()
        self._lock = threading.Lock()
        self._dropped: BaseException | None = None

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._deferred.append((sql, params or {}))

    def flush(self) -> None:
        """Nothing to send from here: the writer sends them all in their order."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        query = _Query(self._take(), sql, params)
        with self._lock:
            if self._dropped is not None:
                raise self._dropped
            self.steps.put(query)
        return query.rows.result()

    def drop(self, error: BaseException) -> None:
        """The writer will not write this batch: a read waiting in it, or to come, fails."""
        with self._lock:
            self._dropped = error
            while not self.steps.empty():
                step = self.steps.get()
                if isinstance(step, _Query) and not step.rows.done():
                    step.rows.set_exception(error)

    def fetchall(self) -> list[Row]:
        raise NotImplementedError("a batch's reads are made with query()")

    def _execute(self, sql: str, params: Mapping[str, Any]) -> None:
        raise NotImplementedError  # every statement goes through the writer

    def _executemany(self, sql: str, params: list[Mapping[str, Any]]) -> None:
        raise NotImplementedError

    def _take(self) -> Statements:
        statements, self._deferred = self._deferred, []
        return statements


class BatchWriter:
    """The thread that writes a catch-up's batches, each in a transaction of its own.

    `committed(position)` is called (from the writer's thread) after each commit;
    `announce`, if given, is the name the store announces the positions under.
    At most one batch waits for the writer while the next is being handled.
    """

    def __init__(
        self,
        store: ViewStore,
        key: str,
        committed: Callable[[int], None],
        announce: str | None = None,
    ) -> None:
        self._store, self._key, self._announce = store, key, announce
        self._committed = committed
        self._batches: SimpleQueue[BatchCursor | None] = SimpleQueue()
        self._settled = threading.Condition()
        self._unsettled = 0
        self.error: BaseException | None = None
        self.position: int | None = None
        """The last position this writer committed (None before its first commit)."""
        self.written = 0
        """How many events the batches it committed read."""
        self._thread = threading.Thread(target=self._run, name="projection-writer", daemon=True)
        self._thread.start()

    def begin(self, start: int) -> BatchCursor:
        """A batch that applies the events after `start`; raises the writer's error, if any."""
        with self._settled:
            self._settled.wait_for(lambda: self._unsettled < 2 or self.error is not None)
            self._raise()
            self._unsettled += 1
        batch = BatchCursor(start)
        self._batches.put(batch)  # its transaction begins while its events are handled
        return batch

    def end(self, batch: BatchCursor, reached: int, count: int) -> None:
        """Write the batch (of `count` events) and its new position `reached`, and commit,
        in the background."""
        # Its runs for COPY formatted here, while the writer's thread waits for the
        # server with the batch before.
        batch.steps.put(_End(copied(batch._take()), reached, count))

    def abandon(self, batch: BatchCursor) -> None:
        batch.steps.put(_Abandon())

    def close(self) -> None:
        """Wait until every ended batch is committed; raises the first error of any."""
        self._batches.put(None)
        self._thread.join()
        with self._settled:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (batch := self._batches.get()) is not None:
            try:
                if self.error is None:
                    ended = self._write(batch)
                    if ended is not None:
                        self.position = ended.reached
                        self.written += ended.count
                        self._committed(ended.reached)
            except BaseException as error:  # handed to the catch-up's thread
                with self._settled:
                    self.error = error
            finally:
                with self._settled:
                    self._unsettled -= 1
                    self._settled.notify_all()
            if self.error is not None:
                batch.drop(self.error)

    def _write(self, batch: BatchCursor) -> _End | None:
        """Write one batch; its end once committed (None when it was abandoned)."""
        store, key = self._store, self._key
        try:
            with store.write(key) as cursor:
                # The position is asked for now and read at the first wait for the
                # server that comes anyway (a read, the batch's COPY, the advance):
                # under the lock it cannot move before the batch commits, and a
                # moved one rolls back whatever of the batch was sent before it.
                position = store.position_sent(cursor, key)
                checked = False
                try:
                    while True:
                        step = batch.steps.get()
                        if isinstance(step, _Abandon):
                            raise _Abandoned
                        cursor.extend(step.statements)
                        if isinstance(step, _End):
                            break
                        if not checked:
                            _check(position(), batch.start, key)
                            checked = True
                        try:
                            rows = cursor.query(step.sql, step.params)
                        except BaseException as error:
                            step.rows.set_exception(error)
                            raise
                        step.rows.set_result(rows)
                    cursor.flush()
                    if not checked:
                        _check(position(), batch.start, key)
                        checked = True
                except (PositionMoved, _Abandoned):
                    raise
                except Exception as error:
                    # A batch that fails on rows another runner wrote says why.
                    moved = None
                    if not checked:
                        with contextlib.suppress(Exception):
                            moved = position()
                        if moved is not None and moved != batch.start:
                            raise PositionMoved(_moved(key, moved, batch.start)) from error
                    raise
                if step.reached > batch.start:
                    if self._announce is not None:
                        store.announce(cursor, self._announce, step.reached)
                    store.advance_last(cursor, key, step.reached)
        except _Abandoned:
            return None
        return step


def _moved(key: str, position: int, start: int) -> str:
    return f"{key} is at {position}, not at {start}"


def _check(position: int, start: int, key: str) -> None:
    if position != start:
        raise PositionMoved(_moved(key, position, start))


class _Abandoned(Exception):
    """Rolls an abandoned batch's transaction back."""
