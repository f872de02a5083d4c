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

from typing import Any
from urllib.parse import parse_qsl

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import (
    ConnectionPool,
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType

from companion.adapters.pg_connections import idle_connection_alive
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


def _pool_checked_by(
    pool: ConnectionPool[Any], datastore: PostgresDatastore
) -> ConnectionPool[Any]:
    """The same (unopened) pool, checking a connection before it is lent by what the
    server sent to it (`idle_connection_alive`) rather than by a query."""
    assert pool.closed, "a pool is replaced before it is opened"
    return ConnectionPool(
        pool.conninfo,
        connection_class=pool.connection_class,
        kwargs=pool.kwargs,
        min_size=pool.min_size,
        max_size=pool.max_size,
        open=False,
        configure=datastore.after_connect_func(),
        check=idle_connection_alive,
        name=pool.name,
        timeout=pool.timeout,
        max_waiting=pool.max_waiting,
        max_lifetime=pool.max_lifetime,
        max_idle=pool.max_idle,
        reconnect_timeout=pool.reconnect_timeout,
        num_workers=pool.num_workers,
        get_password_func=pool.get_password_func,
    )


class SingleAttemptTrackingRecorder(PostgresTrackingRecorder):
    insert_tracking = _single_attempt(PostgresTrackingRecorder.insert_tracking)
    max_tracking_id = _single_attempt(PostgresTrackingRecorder.max_tracking_id)
    has_tracking_id = _single_attempt(PostgresTrackingRecorder.has_tracking_id)


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
        self._appenders: list[PgApplicationRecorder] = []
        if self.datastore.pre_ping:
            # The pre-ping without its round trip: the library's check sends an
            # empty query before every use, a second round trip for each append.
            # The pool is not open yet; one with our check takes its place.
            self.datastore.pool = _pool_checked_by(pool, self.datastore)

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        if isinstance(recorder, PgApplicationRecorder):
            self._appenders.append(recorder)
        return recorder

    def close(self) -> None:
        for recorder in self._appenders:
            recorder.close()
        super().close()
