"""How the runner reads the log: once for several read models, and a batch ahead.

A catch-up reads the log as rows (id, originator_id, originator_version, topic,
state) rather than as the library's `Notification` dataclasses: a recorder that
can read them so (ours on PostgreSQL) is asked for them, any other's
notifications are taken apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Notification

Row = tuple[int, Any, int, str, bytes]
"""(id, originator_id, originator_version, topic, state)."""


def rows_of(notifications: Sequence[Notification]) -> list[Row]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications]


def read_rows(
    recorder: ApplicationRecorder, start: int, limit: int, stop: int, topics: Sequence[str]
) -> Sequence[Row]:
    """The notifications from `start` to `stop` (both included) of `topics`, up to `limit`."""
    select = getattr(recorder, "select_notification_rows", None)
    if select is not None:
        rows: Sequence[Row] = select(start=start, limit=limit, stop=stop, topics=topics)
        return rows
    return rows_of(
        recorder.select_notifications(start=start, limit=limit, stop=stop, topics=topics)
    )


@dataclass(frozen=True)
class SharedRead:
    """Every notification after `after` up to `head`, read once for several read models."""

    after: int
    head: int
    notifications: Sequence[Notification]

    def covers(self, start: int, head: int) -> bool:
        return self.after <= start and head == self.head


class ReadAhead:
    """The next batch's read, made in a thread of its own while this batch is applied.

    A catch-up alternates between waiting for the database to read a batch and
    waiting for it to write one; reading the next batch meanwhile overlaps the
    two. It holds one batch at most, and a read is used only for exactly the
    batch it was made for (same start, limit, head and topics), else dropped.
    """

    def __init__(
        self, recorder: ApplicationRecorder, topics: Sequence[str], limit: int, head: int
    ) -> None:
        self._recorder = recorder
        self._topics = list(topics)
        self.limit = limit
        self.head = head
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="projection-read-ahead")
        self._after: int | None = None
        self._future: Future[Sequence[Row]] | None = None

    def start(self, after: int) -> None:
        """Read the batch after `after`, unless the head is reached."""
        self._drop()
        if after < self.head:
            self._after = after
            self._future = self._pool.submit(
                read_rows, self._recorder, after + 1, self.limit, self.head, self._topics
            )

    def take(self, after: int, limit: int, head: int) -> Sequence[Row] | None:
        """The batch after `after` if that is the one read ahead (None otherwise)."""
        future, matches = self._future, (after, limit, head) == (self._after, self.limit, self.head)
        self._future, self._after = None, None
        if future is None or not matches:
            if future is not None:
                future.cancel()
            return None
        return future.result()

    def _drop(self) -> None:
        if self._future is not None:
            self._future.cancel()
        self._future, self._after = None, None

    def close(self) -> None:
        self._drop()
        self._pool.shutdown(wait=True, cancel_futures=True)
