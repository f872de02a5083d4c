"""How the runner reads the log: once for several read models, and a batch ahead."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder, Notification


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
        self._future: Future[Sequence[Notification]] | None = None

    def start(self, after: int) -> None:
        """Read the batch after `after`, unless the head is reached."""
        self._drop()
        if after < self.head:
            self._after = after
            self._future = self._pool.submit(
                self._recorder.select_notifications,
                start=after + 1,
                limit=self.limit,
                stop=self.head,
                topics=self._topics,
            )

    def take(self, after: int, limit: int, head: int) -> Sequence[Notification] | None:
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
