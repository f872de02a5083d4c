"""Leaving gracefully: the open WebSockets of an API process that is asked to stop.

At SIGTERM the process stops taking connections (`companion.app.server`) and
begins the drain: a socket still opening is closed at once with 1012 ("service
restart"); each open socket is told to go, with a `connection_status {status:
"reconnect"}` frame, reads no further client frame, lets the turn it is serving
finish (its frames still reach the client), then is closed with 1012. The
process exits once every socket has gone, or after
COMPANION_SHUTDOWN_DRAIN_SECONDS, whichever comes first; a turn still running
then is cut off before its reply is stored, so a reply is in the log whole or
not at all. The client reconnects (to another process) and `resume`s from the
last message it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import anyio
from litestar import Litestar

CLOSE_SERVICE_RESTART = 1012
"""The socket's process is going away: reconnect (RFC 6455's "service restart")."""
SERVICE_RESTART = "service restart"


class Leaving(Protocol):
    """An open socket, as the drain sees it."""

    def asked_to_leave(self) -> None:
        """Begin to go: tell the client, read no more, close once the turn is done."""


class Drain:
    """The open sockets of one application, and whether it is going away."""

    def __init__(self) -> None:
        self.draining = False
        self._open: set[Leaving] = set()
        self._all_gone: anyio.Event | None = None

    @property
    def open(self) -> int:
        return len(self._open)

    @contextmanager
    def holding(self, socket: Leaving) -> Iterator[None]:
        """While a socket is open; one opened during the drain is asked to leave at once."""
        self._open.add(socket)
        if self.draining:
            socket.asked_to_leave()
        try:
            yield
        finally:
            self._open.discard(socket)
            if not self._open and self._all_gone is not None:
                self._all_gone.set()

    def begin(self) -> None:
        """Ask every open socket to leave, and every later one."""
        if self.draining:
            return
        self.draining = True
        for socket in list(self._open):
            socket.asked_to_leave()

    async def finish(self, timeout: float) -> bool:
        """Begin the drain and wait until every socket has gone (True), at most `timeout`
        seconds (False: some are still open)."""
        self._all_gone = anyio.Event()
        self.begin()
        if self._open:
            with anyio.move_on_after(timeout):
                await self._all_gone.wait()
        return not self._open


def drain_of(app: Litestar) -> Drain:
    """The application's drain, made at its first use."""
    state: Any = app.state
    drain = state.get("drain")
    if drain is None:
        drain = state["drain"] = Drain()
    assert isinstance(drain, Drain)
    return drain
