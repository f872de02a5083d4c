"""One session per user and process, spanning their sockets and quick reconnects.

A client that drops and reconnects, or a user with a phone and a tablet open,
is one session, not one per socket: the first socket of a user starts it
(Session.Started); when the last one closes, the end is held for
`reconnect_seconds` and dropped if a socket of the user opens again in that
time; otherwise Session.Ended is written with the time of that last close. So
a flood of connects and closes writes one Started and at most one Ended.

Held ends are written by one timer thread; `close` (the process stopping)
writes every held end, and ends the sessions still open, at once.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog

from companion.app.sessions import Sessions

log = structlog.get_logger(__name__)

STOP_SECONDS = 5.0
"""How long closing waits for the ends the timer is writing."""


@dataclass(eq=False)
class _Open:
    """A user's session in this process: how many sockets hold it, and its end once held."""

    sockets: int = 0
    session_id: UUID | None = None
    starting: threading.Lock = field(default_factory=threading.Lock)
    closed_at: datetime | None = None
    due: float | None = None


class SessionTracker:
    """The sessions of this process's sockets, started and ended through `Sessions`."""

    def __init__(self, sessions: Sessions, reconnect_seconds: float) -> None:
        self.sessions = sessions
        self.reconnect_seconds = reconnect_seconds
        self._open: dict[UUID, _Open] = {}
        self._held: list[tuple[float, int, UUID, _Open]] = []
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._timer: threading.Thread | None = None
        self._stopped = False

    def opened(self, user_id: UUID, device: str | None) -> UUID:
        """A socket of the user opened: the session it belongs to, started if need be."""
        with self._lock:
            current = self._open.setdefault(user_id, _Open())
            current.sockets += 1
            current.due = current.closed_at = None
        try:
            with current.starting:
                if current.session_id is None:
                    current.session_id = self.sessions.start_session(user_id=user_id, device=device)
                return current.session_id
        except BaseException:
            with self._lock:
                current.sockets -= 1
                if current.sockets == 0 and current.session_id is None:
                    self._open.pop(user_id, None)
            raise

    def closed(self, user_id: UUID) -> None:
        """A socket of the user closed; the last one's close holds the session's end."""
        at = self.sessions.now()
        with self._lock:
            current = self._open.get(user_id)
            if current is None:
                return
            current.sockets -= 1
            if current.sockets > 0:
                return
            if self._stopped or self.reconnect_seconds <= 0:
                self._open.pop(user_id)
                ending = current
            else:
                current.closed_at = at
                current.due = time.monotonic() + self.reconnect_seconds
                heapq.heappush(self._held, (current.due, next(self._order), user_id, current))
                self._start_timer()
                self._lock.notify()
                return
        self._end(ending.session_id, at)

    def close(self) -> None:
        """The process stops: every held end written now, open sessions ended now."""
        with self._lock:
            self._stopped = True
            ending = list(self._open.values())
            self._open.clear()
            self._held.clear()
            self._lock.notify()
        now = self.sessions.now()
        for current in ending:
            self._end(current.session_id, current.closed_at or now)
        if self._timer is not None:
            self._timer.join(timeout=STOP_SECONDS)

    def _start_timer(self) -> None:
        if self._timer is None:
            self._timer = threading.Thread(
                target=self._write_held_ends, name="session-ends", daemon=True
            )
            self._timer.start()

    def _write_held_ends(self) -> None:
        while True:
            with self._lock:
                due = self._due_ends()
                while not due and not self._stopped:
                    wait = self._held[0][0] - time.monotonic() if self._held else None
                    self._lock.wait(wait)
                    due = self._due_ends()
                stopping = self._stopped
            for current in due:
                self._end(current.session_id, current.closed_at or self.sessions.now())
            if stopping:
                return

    def _due_ends(self) -> list[_Open]:
        """The held ends whose window has passed, no socket having reopened; under the lock."""
        due: list[_Open] = []
        now = time.monotonic()
        while self._held and self._held[0][0] <= now:
            at, _, user_id, current = heapq.heappop(self._held)
            if current.due == at and current.sockets == 0 and self._open.get(user_id) is current:
                del self._open[user_id]
                due.append(current)
        return due

    def _end(self, session_id: UUID | None, at: datetime) -> None:
        if session_id is None:
            return
        try:
            self.sessions.end_session(session_id, at)
        except Exception:
            log.exception("session.end_failed", session_id=str(session_id))
