"""The library's PostgreSQL event store, tuned so that an outage is answered in seconds.

As shipped, eventsourcing retries every read and insert ten times, each attempt
waiting up to the pool timeout for a connection: with new connections refused,
a request held a worker thread for about a minute before it failed. Here every
recorder method makes one attempt, a request waits at most POSTGRES_POOL_TIMEOUT
seconds for a pooled connection, and a new connection gives up after
POSTGRES_CONNECT_TIMEOUT seconds. Dead pooled connections are still found
before use (pre-ping), so a database restart costs no request; the check reads
what the server sent to the idle connection instead of sending a query.

Events are appended by our own recorder (`pg_recorder`), which needs no table
lock; the aggregate and tracking recorders are the library's.

Options of the database URL that libpq knows (sslmode, sslrootcert, …) reach
the driver through POSTGRES_CONNECT_OPTIONS (URL-encoded).
"""

from __future__ import annotations

import select
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType
from psycopg import Connection, pq

from companion.adapters.pg_recorder import PgApplicationRecorder

# libpq connection parameters a database URL may carry, passed to the driver as they are.
LIBPQ_OPTIONS = frozenset(
    {
        "application_name",
        "channel_binding",
        "gssencmode",
        "keepalives",
        "keepalives_count",
        "keepalives_idle",
        "keepalives_interval",
        "krbsrvname",
        "options",
        "passfile",
        "requirepeer",
        "sslcert",
        "sslcompression",
        "sslcrl",
        "sslkey",
        "sslmode",
        "sslpassword",
        "sslrootcert",
        "sslsni",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "tcp_user_timeout",
    }
)


def _single_attempt(method: Any) -> Any:
    """The library's method without its retry decorator."""
    return getattr(method, "__wrapped__", method)


class SingleAttemptAggregateRecorder(PostgresAggregateRecorder):
    insert_events = _single_attempt(PostgresAggregateRecorder.insert_events)
    select_events = _single_attempt(PostgresAggregateRecorder.select_events)


class SingleAttemptApplicationRecorder(PgApplicationRecorder):
    """Our recorder (one attempt at each write and read already), with the library's reads."""

    select_events = _single_attempt(PostgresApplicationRecorder.select_events)


class SingleAttemptTrackingRecorder(PostgresTrackingRecorder):
    insert_tracking = _single_attempt(PostgresTrackingRecorder.insert_tracking)
    max_tracking_id = _single_attempt(PostgresTrackingRecorder.max_tracking_id)
    has_tracking_id = _single_attempt(PostgresTrackingRecorder.has_tracking_id)


def idle_connection_alive(conn: Connection[Any]) -> None:
    """Raise if a pooled connection was closed by the server (restart, terminate, failover).

    An idle connection has nothing to read unless the server said something:
    a notification, or the error and end of file of a closed session. Only
    then is the input read, and the connection's state tells which it was.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    pgconn = conn.pgconn
    # A closed session sends its last message, then end of file: reading stops
    # at each, so read while there is something to read (a few times at most).
    for _ in range(8):
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
        if not readable:
            break
        pgconn.consume_input()  # raises at end of file
        if pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError("the server closed the connection")


class PostgresStoreFactory(PostgresFactory):
    """Chosen by PERSISTENCE_MODULE; reads two settings more than the library's factory."""

    POSTGRES_POOL_TIMEOUT = "POSTGRES_POOL_TIMEOUT"
    POSTGRES_CONNECT_OPTIONS = "POSTGRES_CONNECT_OPTIONS"

    aggregate_recorder_class = SingleAttemptAggregateRecorder
    application_recorder_class = SingleAttemptApplicationRecorder
    tracking_recorder_class = SingleAttemptTrackingRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        # The library passes its "connect timeout" to the pool as the wait for a
        # connection; libpq itself gets the connect timeout here.
        pool.timeout = float(self.env.get(self.POSTGRES_POOL_TIMEOUT) or pool.timeout)
        options = dict(parse_qsl(self.env.get(self.POSTGRES_CONNECT_OPTIONS) or ""))
        connect_timeout = self.env.get(self.POSTGRES_CONNECT_TIMEOUT)
        if connect_timeout:
            options.setdefault("connect_timeout", connect_timeout)
        assert isinstance(pool.kwargs, dict)
        pool.kwargs.update(options)
        if pool._check is not None:
            # The pre-ping without its round trip: the pool's own check sends an
            # empty query before every use, a second round trip for each append.
            pool._check = idle_connection_alive
