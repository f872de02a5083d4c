"""The positions this process knows its read models have committed, and waiting for one.

A request that wrote an event may wait until the read models it reads have
applied it (read-your-writes). In-process, the runner's own commits wake the
waiter; the positions other processes commit come in through their
announcements (`projections.following`), with a read of the tracking table now
and then in case one was lost; where nothing can be heard, the table is polled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence


class CommittedPositions:
    """The last position each read model committed, as far as this process knows."""

    def __init__(self) -> None:
        self.known: dict[str, int] = {}
        """By read model name; a position only moves forward, but for a rebuild's."""
        self._changed = threading.Condition()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many callers are blocked in `wait_for` right now."""
        return self._waiting

    def commit(self, name: str, position: int, *, allow_backwards: bool = False) -> None:
        """`name` committed `position`: take it in and wake the waiters."""
        with self._changed:
            if allow_backwards or position > self.known.get(name, 0):
                self.known[name] = position
            self._changed.notify_all()

    def wait_for(
        self,
        position: int,
        names: Sequence[str],
        deadline: float,
        *,
        safety_poll_interval: float,
        running: Callable[[], bool],
        read: Callable[[str], int],
    ) -> bool:
        """Block until every one of `names` has committed `position`; False at `deadline`
        (of `time.monotonic`).

        Unless this process's runner is `running`, the positions are `read` every
        `safety_poll_interval` seconds, in case an announcement was lost.
        """

        def applied() -> bool:
            return all(self.known.get(n, 0) >= position for n in names)

        with self._changed:
            self._waiting += 1
        try:
            while True:
                check = min(deadline, time.monotonic() + safety_poll_interval)
                with self._changed:
                    if self._changed.wait_for(applied, max(0.0, check - time.monotonic())):
                        return True
                if time.monotonic() >= deadline:
                    return False
                if not running():  # the safety net: an announcement lost, say
                    for name in names:
                        self.commit(name, read(name))
        finally:
            with self._changed:
                self._waiting -= 1


def poll_for(
    position: int, names: Sequence[str], deadline: float, read: Callable[[str], int]
) -> bool:
    """Read the positions of `names` until each has reached `position` (True) or it is
    `deadline` (False): for a process that can hear no commits."""
    interval = 0.005
    while True:
        if all(read(n) >= position for n in names):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 2, 0.05)
