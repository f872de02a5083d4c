"""Which projection worker leads each read model, when several follow one PostgreSQL log.

Every worker (`companion projections run`) holds one connection of its own to
the database, its lock connection, named after the worker
(``application_name``), and on it a session advisory lock for each read model
it leads, keyed by the schema and the read model's name. A read model is
applied only by its leader; the other workers leave it alone. When a worker
dies its connection closes, the server drops its locks, and the others take
them at their next try (every `retry_seconds`).

The spread: a worker leads read models only while it leads fewer than its
share, ceil(read models / live workers), counting as live the lock connections
open on the schema; one that leads more than its share (a worker joined) lets
the rest go. The shares add up to at least every read model, so each is led
once every worker has had its turn, and none leads more than its share for
longer than one try.

The fence: a worker that lost its lock connection (a network fault) may not
know it yet. Every batch's transaction, under the read model's write lock,
therefore checks that this worker's lock connection (its backend's pid and
start time) still holds the read model's lock, and fails unless it does. A new
leader's first batch waits for that write lock, so the old leader's last
commit comes before the new leader's first, and every batch after it is
refused: two leaders never both commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg.rows import tuple_row

from projections.postgres_views import PostgresViewStore
from projections.store import ViewCursor, ViewStore

log = structlog.get_logger(__name__)

LOCK_CONNECTION_PREFIX = "companion-lead:"


class NotLeader(RuntimeError):
    """This worker does not lead the read model (any more): the batch was not written."""


def leadership_key(schema: str, name: str) -> int:
    """The advisory lock key of `name`'s leadership in `schema`: the same in every process
    and every version of PostgreSQL (unlike ``hashtext``), and never negative."""
    digest = hashlib.sha256(f"companion.lead.{schema}.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def lock_connection_name(schema: str, worker_id: str) -> str:
    """The ``application_name`` of a worker's lock connection (within PostgreSQL's 63
    characters however long the schema's name)."""
    return f"{_schema_tag(schema)}{worker_id}"


def _schema_tag(schema: str) -> str:
    return f"{LOCK_CONNECTION_PREFIX}{hashlib.sha256(schema.encode()).hexdigest()[:8]}:"


_HOLDERS = (
    "SELECT (l.classid::bigint << 32 | l.objid::bigint) AS key, a.application_name"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

_FENCE = (
    "SELECT 1 / (count(*) = :wanted)::int AS fenced"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.pid = :pid AND a.backend_start = :started"
    " AND (l.classid::bigint << 32 | l.objid::bigint)"
    " = ANY(string_to_array(:keys, ',')::bigint[])"
)
"""Fails the transaction (division by zero) unless the lock connection `pid`, started at
`started`, holds every one of `keys`: sent without waiting for its answer, it costs a
batch no round trip."""


def leaders(store: PostgresViewStore, names: Sequence[str]) -> dict[str, str]:
    """The worker id leading each of `names` that has a leader right now (from pg_locks)."""
    schema = store.datastore.schema
    by_key = {leadership_key(schema, name): name for name in names}
    tag = _schema_tag(schema)
    with store.read() as cursor:
        rows = cursor.query(_HOLDERS)
    found: dict[str, str] = {}
    for row in rows:
        name = by_key.get(int(row["key"]))
        holder = str(row["application_name"] or "")
        if name is not None and holder.startswith(tag):
            found[name] = holder[len(tag) :]
    return found


class Leadership:
    """This worker's leadership of read models `names` in `store`'s schema: which it leads,
    taking and letting go of them (`refresh`), and the fence its batches pass."""

    def __init__(
        self,
        store: PostgresViewStore,
        names: Sequence[str],
        worker_id: str,
        *,
        retry_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.worker_id = worker_id
        self.retry_seconds = retry_seconds
        schema = store.datastore.schema
        self.names = sorted(names)
        self.keys = {name: leadership_key(schema, name) for name in self.names}
        self._name = lock_connection_name(schema, worker_id)
        self._tag = _schema_tag(schema)
        # Each worker tries the read models in an order of its own, so that workers
        # starting together do not all reach for the same ones first.
        turn = int(worker_id[:8], 16) % max(len(self.names), 1) if self.names else 0
        self._order = self.names[turn:] + self.names[:turn]
        self._conn: psycopg.Connection[Any] | None = None
        self._holder: tuple[int, datetime] | None = None
        self.led: frozenset[str] = frozenset()
        """The read models this worker leads, as far as it knows (the fence makes sure)."""
        self._next_try = 0.0
        self._guard = threading.Lock()

    # -- taking and letting go -----------------------------------------------------------

    def refresh_if_due(self) -> None:
        """`refresh`, when `retry_seconds` have passed since the last."""
        if time.monotonic() >= self._next_try:
            self.refresh()

    def refresh(self) -> None:
        """Check the lock connection (a new one if it was lost, with nothing led), count the
        live workers, let go of what is beyond this worker's share and try to take what
        has no leader, up to the share."""
        self._next_try = time.monotonic() + self.retry_seconds
        with self._guard:
            try:
                conn = self._connected()
                share = self._share(conn)
                led = set(self.led)
                for name in sorted(led)[share:]:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self.keys[name],))
                    led.discard(name)
                    log.info("projections.leadership_released", projection=name, share=share)
                for name in self._order:
                    if len(led) >= share:
                        break
                    if name in led:
                        continue
                    row = conn.execute(
                        "SELECT pg_try_advisory_lock(%s)", (self.keys[name],)
                    ).fetchone()
                    if row is not None and row[0]:
                        led.add(name)
                        log.info("projections.leadership_taken", projection=name, share=share)
                self.led = frozenset(led)
            except psycopg.Error as error:
                self._lose(error)

    def _share(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND starts_with(application_name, %s)",
            (self._tag,),
        ).fetchone()
        workers = max(int(row[0]) if row else 1, 1)
        return math.ceil(len(self.names) / workers)

    def _connected(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        pool = self.store.datastore.pool
        kwargs = pool.kwargs() if callable(pool.kwargs) else dict(pool.kwargs or {})
        conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
        conn = psycopg.connect(
            conninfo,
            **{
                **kwargs,
                "row_factory": tuple_row,
                "application_name": self._name,
                # A peer gone without a word (its host lost) is noticed in seconds, on
                # both ends: the server then drops the locks for the next leader.
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
            },
            autocommit=True,
        )
        conn.execute("SET tcp_keepalives_idle = 5")
        conn.execute("SET tcp_keepalives_interval = 2")
        conn.execute("SET tcp_keepalives_count = 3")
        row = conn.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        ).fetchone()
        assert row is not None
        self._conn, self._holder, self.led = conn, (int(row[0]), row[1]), frozenset()
        return conn

    def _lose(self, error: BaseException) -> None:
        """The lock connection failed: whatever it held is another's to take now."""
        if self.led:
            log.warning(
                "projections.leadership_lost",
                projections=sorted(self.led),
                error=f"{type(error).__name__}: {error}",
            )
        self.led = frozenset()
        self._holder = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        """Lead nothing any more: the lock connection closes and every lock with it."""
        with self._guard:
            self.led = frozenset()
            self._holder = None
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    # -- the fence -----------------------------------------------------------------------

    def fence(self, cursor: ViewCursor, names: Sequence[str]) -> None:
        """Make the transaction of `cursor` (writing read models `names`) fail unless this
        worker's lock connection holds their leadership."""
        if not names:
            return  # no read model led by anyone (a rebuild's fresh tables)
        led, holder = self.led, self._holder
        if holder is None or any(name not in led for name in names):
            raise NotLeader(f"worker {self.worker_id} does not lead {', '.join(names)}")
        pid, started = holder
        cursor.execute(
            _FENCE,
            {
                "wanted": len(names),
                "pid": pid,
                "started": started,
                "keys": ",".join(str(self.keys[name]) for name in names),
            },
        )

    def fenced(self, store: ViewStore, tracking: Mapping[str, str]) -> FencedViews:
        """`store`, each of whose write transactions passes the fence first; `tracking`
        gives each read model's name by its tracking key."""
        return FencedViews(store, self, tracking)


class FencedViews(ViewStore):
    """A view store whose write transactions pass this worker's leadership fence before any
    of their writes; everything else is the store's own."""

    def __init__(self, store: ViewStore, leadership: Leadership, tracking: Mapping[str, str]):
        self.inner = store
        self.leadership = leadership
        self.tracking = dict(tracking)
        self.dialect = store.dialect
        self.types = store.types
        self.writes_behind = store.writes_behind

    def write(self, key: str) -> AbstractContextManager[ViewCursor]:
        return self.write_all([key])

    @contextmanager
    def write_all(self, keys: Sequence[str]) -> Iterator[ViewCursor]:
        names = [self.tracking[k] for k in keys if k in self.tracking]
        try:
            with self.inner.write_all(keys) as cursor:
                self.leadership.fence(cursor, names)
                yield cursor
        except Exception as error:
            if not _fenced(error):
                raise
            # The fence's way of failing: another worker leads now, and the batch is undone.
            raise NotLeader(
                f"worker {self.leadership.worker_id} no longer leads {', '.join(names)}:"
                " the batch was rolled back"
            ) from error

    def create_tables(self, statements: list[str]) -> None:
        self.inner.create_tables(statements)

    def positions_in(self, cursor: ViewCursor, keys: Sequence[str]) -> dict[str, int]:
        return self.inner.positions_in(cursor, keys)

    def advance_all(self, cursor: ViewCursor, positions: Mapping[str, int]) -> None:
        self.inner.advance_all(cursor, positions)

    def read(self) -> AbstractContextManager[ViewCursor]:  # type: ignore[override]
        return self.inner.read()

    def position_in(self, cursor: ViewCursor, key: str) -> int:
        return self.inner.position_in(cursor, key)

    def position_sent(self, cursor: ViewCursor, key: str) -> Any:
        return self.inner.position_sent(cursor, key)

    def advance(self, cursor: ViewCursor, key: str, position: int) -> None:
        self.inner.advance(cursor, key, position)

    def advance_last(self, cursor: ViewCursor, key: str, position: int) -> None:
        self.inner.advance_last(cursor, key, position)

    def reset(self, cursor: ViewCursor, key: str) -> None:
        self.inner.reset(cursor, key)

    def announce(self, cursor: ViewCursor, name: str, position: int) -> None:
        self.inner.announce(cursor, name, position)

    def announce_all(self, cursor: ViewCursor, positions: Mapping[str, int]) -> None:
        self.inner.announce_all(cursor, positions)

    def drop_tables(self, cursor: ViewCursor, tables: list[str]) -> None:
        self.inner.drop_tables(cursor, tables)

    def replace_tables(
        self, cursor: ViewCursor, renames: Mapping[str, str], ddl: list[str]
    ) -> None:
        self.inner.replace_tables(cursor, renames, ddl)

    def position(self, key: str) -> int:
        return self.inner.position(key)

    def close(self) -> None:
        self.inner.close()


def _fenced(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is the fence's division by zero."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, psycopg.errors.DivisionByZero):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
