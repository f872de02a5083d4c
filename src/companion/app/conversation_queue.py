"""Turns of one conversation, one at a time and first come first served, in this process.

A conversation's turns must not overlap: each reply is to follow its own
message, and turns that overlap only meet at the store's version check, where
all but one lose and try again (and, past their retries, fail). So a turn
holds its conversation's place in a `ConversationQueue` from opening to
closing; the others wait in line, in the order they came.

One queue serves threads and the event loop alike. A thread waits on an event
of its own; a coroutine waits on a future, and the thread that passes the
place on resolves that future through its loop (`call_soon_threadsafe`), so
waiting never blocks the loop nor keeps a worker thread. The place is not
tied to a thread or a task: taken in the loop, it may be given back by the
worker thread that ran the turn's end. It is not reentrant: a turn holding a
conversation must not ask for it again.

Each conversation's line is bounded (`max_waiting`): past it the turn is
refused at once (`ConversationBusy`) rather than queued behind work it would
wait too long for. A conversation nobody holds or waits for is forgotten, so
the queue holds only the conversations being talked to.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager

from companion.app.errors import ConversationBusy

MAX_WAITING = 64
"""Turns that may wait for one conversation, besides the one being made."""


class _ThreadWaiter:
    """A thread waiting in line; `granted`, set under the queue's lock, when its turn comes."""

    def __init__(self) -> None:
        self.granted = False
        self.woken = threading.Event()

    def grant(self) -> bool:
        """Wake the thread: the key is its now."""
        self.granted = True
        self.woken.set()
        return True


class _TaskWaiter:
    """A coroutine waiting in line, woken in its own loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.granted = False
        self.loop = loop
        self.woken: asyncio.Future[None] = loop.create_future()

    def grant(self) -> bool:
        """Wake the coroutine in its loop; False if that loop is closed (nobody to wake)."""
        try:
            self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:
            return False
        self.granted = True
        return True

    def _wake(self) -> None:
        # A waiter cancelled meanwhile has its future done already; it passes the place on.
        if not self.woken.done():
            self.woken.set_result(None)


_Waiter = _ThreadWaiter | _TaskWaiter


class ConversationQueue:
    """Holds each conversation for one turn at a time; the others wait in line, in order.

    `hold(key)` from threads, `hold_async(key)` from coroutines; both may be
    used for the same key at once. The key is a conversation's id.
    """

    def __init__(self, *, max_waiting: int = MAX_WAITING) -> None:
        if max_waiting < 0:
            raise ValueError("max_waiting cannot be negative")
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._lines: dict[Hashable, deque[_Waiter]] = {}
        """The conversations held, each with the turns waiting for it, in order."""

    # -- holding -------------------------------------------------------------------------

    @contextmanager
    def hold(self, key: Hashable, *, timeout: float | None = None) -> Iterator[None]:
        """Hold `key` for the block, waiting in this thread for the turns before it.

        ConversationBusy when too many already wait, or when `timeout` seconds
        pass before its turn comes (its place in line is then given up).
        """
        self.acquire(key, timeout=timeout)
        try:
            yield
        finally:
            self.release(key)

    @asynccontextmanager
    async def hold_async(self, key: Hashable) -> AsyncIterator[None]:
        """Hold `key` for the block; the coroutine waits without blocking its loop.

        ConversationBusy when too many already wait. Cancelled while waiting,
        it gives up its place in line (or passes the key on, had it just been
        given it).
        """
        await self.acquire_async(key)
        try:
            yield
        finally:
            self.release(key)

    def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        """Take `key`, waiting in this thread for the turns before it (see `hold`)."""
        waiter = _ThreadWaiter()
        if not self._join(key, waiter):
            return
        try:
            woken = waiter.woken.wait(timeout)
        except BaseException:
            if self._leave(key, waiter):
                self.release(key)
            raise
        if not woken and not self._leave(key, waiter):
            raise ConversationBusy(
                f"this conversation's earlier turns took longer than {timeout} s"
            )

    async def acquire_async(self, key: Hashable) -> None:
        """Take `key`, the coroutine waiting for the turns before it (see `hold_async`)."""
        waiter = _TaskWaiter(asyncio.get_running_loop())
        if not self._join(key, waiter):
            return
        try:
            await waiter.woken
        except BaseException:
            if self._leave(key, waiter):
                # Given the key just as it was cancelled: the key is not to be held by
                # a turn that will not run, so it goes on to the next in line.
                self.release(key)
            raise

    def release(self, key: Hashable) -> None:
        """Give `key` back: to the first turn still waiting for it, else to nobody."""
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                raise RuntimeError(f"{key!r} is not held")
            while line:
                if line.popleft().grant():
                    return  # still held: by the turn just woken
            del self._lines[key]

    # -- what it holds ---------------------------------------------------------------------

    def held(self, key: Hashable) -> bool:
        """Whether a turn holds `key` now."""
        with self._lock:
            return key in self._lines

    def waiting(self, key: Hashable) -> int:
        """How many turns wait for `key` now."""
        with self._lock:
            return len(self._lines.get(key, ()))

    def waiting_turns(self) -> int:
        """How many turns wait now, for whichever conversation."""
        with self._lock:
            return sum(len(line) for line in self._lines.values())

    def __len__(self) -> int:
        """How many conversations are held or waited for."""
        with self._lock:
            return len(self._lines)

    # -- the line --------------------------------------------------------------------------

    def _join(self, key: Hashable, waiter: _Waiter) -> bool:
        """Take `key` at once (False) if nobody holds it, else put `waiter` last in line (True)."""
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                self._lines[key] = deque()
                return False
            if len(line) >= self.max_waiting:
                raise ConversationBusy(
                    f"{len(line)} turns of this conversation are already waiting"
                )
            line.append(waiter)
            return True

    def _leave(self, key: Hashable, waiter: _Waiter) -> bool:
        """A waiter gives up: True if it was given the key already (it holds it now)."""
        with self._lock:
            if waiter.granted:
                return True
            line = self._lines.get(key)
            # Passed over already (its loop was closed when its turn came): nothing to leave.
            if line is not None and waiter in line:
                line.remove(waiter)
            return False
