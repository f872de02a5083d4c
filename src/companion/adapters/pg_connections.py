"""Whether an idle PostgreSQL connection is still alive, known without a round trip.

Used on every connection the pool lends and on the connection the recorder
keeps for its appends: a restart, a terminated session or a failover closes
connections that look idle, and a query to find out would cost a round trip.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg import Connection, pq


def idle_connection_alive(conn: Connection[Any]) -> None:
    """Raise if an idle connection was closed by the server (restart, terminate, failover).

    An idle connection has nothing to read unless the server said something:
    a notification, or the error and end of file of a closed session. Only
    then is the input read. A session being closed sends its FATAL error a
    moment before its end of file, and libpq takes that error as a notice: so
    whatever an idle connection heard that is not a notification counts as
    its end too, and the connection is closed (at worst a healthy one is replaced).
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    pgconn = conn.pgconn
    if not _readable(pgconn.socket):
        return
    pgconn.consume_input()  # raises at end of file
    if pgconn.status != pq.ConnStatus.OK:
        raise psycopg.OperationalError("the server closed the connection")
    notified = False
    while pgconn.notifies() is not None:
        notified = True
    if not notified:
        # Closed here: its status still says OK, and a pool given it back would lend
        # it again (and check it again, until its wait runs out).
        conn.close()
        raise psycopg.OperationalError("the server is closing the connection")


def _readable(fd: int) -> bool:
    """Whether a socket has input, without select()'s limit of 1024 descriptors (a
    process holding thousands of WebSockets has descriptors far above it)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))
