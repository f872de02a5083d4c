"""Where read models keep their tables, on SQLite or PostgreSQL.

Each store is one of the library's tracking recorders, so a read model's rows
and its tracking position are written by the same connection in the same
transaction: a crash never applies an event twice or skips one.

Read models write portable SQL: named parameters as ``:name`` and column types
as ``{uuid}``, ``{timestamp}``, ``{json}``, ``{bigint}``, ``{bool}``; each
store translates them for its database.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any, Literal
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from projections.arrays import NAMED_PARAM, ArrayStatement, CopiedRun

Row = dict[str, Any]
_SQL, _PARAMS = itemgetter(0), itemgetter(1)
TRACKING_TABLE = "projection_tracking"
WORKERS_TABLE = "projection_workers"
# A worker not seen for this long is forgotten at the next heartbeat of any other.
FORGET_WORKERS_AFTER = timedelta(days=7)
_WORKERS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {WORKERS_TABLE} ("
    "worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid {bigint} NOT NULL, "
    "projections {json} NOT NULL, started_at {timestamp} NOT NULL, "
    "last_seen {timestamp} NOT NULL)"
)


@dataclass
class Worker:
    """A running projection loop, as its heartbeat records it."""

    worker_id: str
    host: str
    pid: int
    projections: list[str]
    started_at: datetime
    last_seen: datetime


class ViewCursor(ABC):
    """A cursor inside one transaction of a view store.

    Statements given to `defer` are sent later in one `executemany` per run of
    the same statement, always before the next `execute` and before the
    transaction advances its tracking position, so their order is kept.
    `scratch` holds what a read model gathers during one transaction.
    """

    def __init__(self) -> None:
        self._deferred: list[tuple[str, Mapping[str, Any]]] = []
        self.scratch: dict[str, Any] = {}

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.flush()
        self._execute(sql, params or {})

    def defer(self, sql: str, params: Mapping[str, Any]) -> None:
        self._deferred.append((sql, params))

    def extend(self, statements: list[tuple[str, Mapping[str, Any]]]) -> None:
        """Defer each of `statements`, in their order."""
        self._deferred.extend(statements)

    def flush(self) -> None:
        deferred, self._deferred = self._deferred, []
        # Runs found and taken apart in C: a catch-up's batch defers thousands.
        for sql, run in groupby(deferred, _SQL):
            self._executemany(sql, list(map(_PARAMS, run)))

    @abstractmethod
    def _execute(self, sql: str, params: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def _executemany(self, sql: str, params: list[Mapping[str, Any]]) -> None: ...

    @abstractmethod
    def fetchall(self) -> list[Row]: ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        self.execute(sql, params)
        return self.fetchall()


class ViewStore(ABC):
    """A database for read models and their tracking positions."""

    dialect: Literal["sqlite", "postgres"]
    types: Mapping[str, str]
    writes_behind = False
    """Whether a catch-up may write a batch from a thread of its own while it handles
    the next (see `projections.writing`): a server's connections may, SQLite's not."""

    def ddl(self, statement: str) -> str:
        return statement.format(**self.types)

    @abstractmethod
    def create_tables(self, statements: list[str]) -> None: ...

    @abstractmethod
    def write(self, key: str) -> AbstractContextManager[ViewCursor]:
        """A transaction that holds the projection's write lock until it ends."""

    @abstractmethod
    def write_all(self, keys: Sequence[str]) -> AbstractContextManager[ViewCursor]:
        """One transaction holding the write locks of several projections until it ends,
        taken in one order (the keys sorted) so that two such transactions never wait
        for each other in a circle."""

    def positions_in(self, cursor: ViewCursor, keys: Sequence[str]) -> dict[str, int]:
        """The positions of `keys` (0 for one never advanced), in one query."""
        params = {f"key{index}": key for index, key in enumerate(keys)}
        rows = cursor.query(
            f"SELECT application_name, notification_id FROM {TRACKING_TABLE}"
            f" WHERE application_name IN ({', '.join(':' + name for name in params)})",
            params,
        )
        found = {str(row["application_name"]): int(row["notification_id"]) for row in rows}
        return {key: found.get(key, 0) for key in keys}

    def advance_all(self, cursor: ViewCursor, positions: Mapping[str, int]) -> None:
        """Move several projections forward in this transaction (see `advance`)."""
        for key, position in positions.items():
            self.advance(cursor, key, position)

    @abstractmethod
    @contextmanager
    def read(self) -> Iterator[ViewCursor]: ...

    @abstractmethod
    def position_in(self, cursor: ViewCursor, key: str) -> int: ...

    def position_sent(self, cursor: ViewCursor, key: str) -> Callable[[], int]:
        """`position_in`, read when the returned function is called: a store that can
        sends the query now and reads its answer then, with no round trip of its own
        when something else has waited for the server meanwhile."""
        position = self.position_in(cursor, key)
        return lambda: position

    @abstractmethod
    def advance(self, cursor: ViewCursor, key: str, position: int) -> None: ...

    def advance_last(self, cursor: ViewCursor, key: str, position: int) -> None:
        """`advance` as the transaction's last statement, before it commits: a store
        that can sends it with whatever is still unanswered and waits for them all
        at once."""
        self.advance(cursor, key, position)

    def reset(self, cursor: ViewCursor, key: str) -> None:
        cursor.execute(f"DELETE FROM {TRACKING_TABLE} WHERE application_name = :key", {"key": key})

    def announce(self, cursor: ViewCursor, name: str, position: int) -> None:  # noqa: B027
        """Tell other processes, when this transaction commits, that `name` reached `position`.

        Only PostgreSQL can (NOTIFY); other processes on SQLite poll.
        """

    def announce_all(self, cursor: ViewCursor, positions: Mapping[str, int]) -> None:
        """`announce` for several read models at once."""
        for name, position in positions.items():
            self.announce(cursor, name, position)

    def drop_tables(self, cursor: ViewCursor, tables: list[str]) -> None:
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")

    @abstractmethod
    def replace_tables(
        self, cursor: ViewCursor, renames: Mapping[str, str], ddl: list[str]
    ) -> None:
        """Drop each live table of `renames` and rename its fresh one (its key) to it.

        Inside the caller's transaction, so readers see the old tables or the new
        ones, never neither. `ddl` is the live tables' DDL: whatever it names
        (indexes) ends up under the live names.
        """

    @abstractmethod
    def position(self, key: str) -> int:
        """The last position the projection committed (0 when it has none)."""

    # -- workers' heartbeats ------------------------------------------------------------

    def record_heartbeat(self, worker: Worker) -> None:
        """Record that `worker` is alive, in a short transaction of its own."""
        with self.write(WORKERS_TABLE) as cursor:
            cursor.execute(
                f"INSERT INTO {WORKERS_TABLE} "
                "(worker_id, host, pid, projections, started_at, last_seen) "
                "VALUES (:worker_id, :host, :pid, :projections, :started_at, :last_seen) "
                "ON CONFLICT (worker_id) DO UPDATE SET last_seen = excluded.last_seen",
                {
                    "worker_id": worker.worker_id,
                    "host": worker.host,
                    "pid": worker.pid,
                    "projections": worker.projections,
                    "started_at": worker.started_at,
                    "last_seen": worker.last_seen,
                },
            )
            cursor.execute(
                f"DELETE FROM {WORKERS_TABLE} WHERE last_seen < :cutoff",
                {"cutoff": worker.last_seen - FORGET_WORKERS_AFTER},
            )

    def last_heartbeat(self) -> datetime | None:
        """The most recent heartbeat of any worker (None when none was ever recorded)."""
        with self.read() as cursor:
            rows = cursor.query(f"SELECT MAX(last_seen) AS last_seen FROM {WORKERS_TABLE}")
        value = rows[0]["last_seen"] if rows else None
        return None if value is None else as_datetime(value)

    def workers(self) -> list[Worker]:
        """Every worker with a recorded heartbeat, most recently seen first."""
        with self.read() as cursor:
            rows = cursor.query(f"SELECT * FROM {WORKERS_TABLE} ORDER BY last_seen DESC")
        return [
            Worker(
                worker_id=row["worker_id"],
                host=row["host"],
                pid=int(row["pid"]),
                projections=list(as_json(row["projections"])),
                started_at=as_datetime(row["started_at"]),
                last_seen=as_datetime(row["last_seen"]),
            )
            for row in rows
        ]

    @abstractmethod
    def close(self) -> None: ...


# -- SQLite ----------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


class _SQLiteCursor(ViewCursor):
    def __init__(self, cursor: Any) -> None:
        super().__init__()
        self._cursor = cursor

    def _execute(self, sql: str, params: Mapping[str, Any]) -> None:
        self._cursor.execute(sql, {k: _sqlite_value(v) for k, v in params.items()})

    def _executemany(self, sql: str, params: list[Mapping[str, Any]]) -> None:
        self._cursor.executemany(
            sql, [{k: _sqlite_value(v) for k, v in row.items()} for row in params]
        )

    def fetchall(self) -> list[Row]:
        return [dict(row) for row in self._cursor.fetchall()]


class SQLiteViewStore(SQLiteTrackingRecorder, ViewStore):
    dialect = "sqlite"
    types = {  # noqa: RUF012
        "uuid": "TEXT",
        "timestamp": "TEXT",
        "json": "TEXT",
        "bigint": "INTEGER",
        "bool": "INTEGER",
    }

    def __init__(self, db_name: str) -> None:
        super().__init__(SQLiteDatastore(db_name=db_name, lock_timeout=10))
        # The library's recorder names its tracking table "tracking"; ours is shared
        # by every read model in this database.
        for attr in ("insert_tracking_statement", "select_max_tracking_id_statement"):
            setattr(self, attr, getattr(self, attr).replace("tracking", TRACKING_TABLE))
        self.create_table_statements = [
            s.replace("EXISTS tracking", f"EXISTS {TRACKING_TABLE}")
            for s in self.create_table_statements
        ]
        self.create_table()
        self.create_tables([_WORKERS_DDL])

    def create_tables(self, statements: list[str]) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            for statement in statements:
                cursor.execute(self.ddl(statement))

    def write(self, key: str) -> AbstractContextManager[ViewCursor]:
        return self._immediate()

    def write_all(self, keys: Sequence[str]) -> AbstractContextManager[ViewCursor]:
        # SQLite's write lock, taken by BEGIN IMMEDIATE, is every projection's.
        return self._immediate()

    @contextmanager
    def _immediate(self) -> Iterator[ViewCursor]:
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            # IMMEDIATE takes SQLite's write lock now, which serialises writers of
            # every projection in this file (a rebuild and the runner included).
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteCursor(cursor)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    @contextmanager
    def read(self) -> Iterator[ViewCursor]:
        with self.datastore.transaction(commit=False) as cursor:
            yield _SQLiteCursor(cursor)

    def position_in(self, cursor: ViewCursor, key: str) -> int:
        row = cursor.query(
            f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = :key",
            {"key": key},
        )
        return int(row[0]["notification_id"]) if row else 0

    def replace_tables(
        self, cursor: ViewCursor, renames: Mapping[str, str], ddl: list[str]
    ) -> None:
        for fresh, live in renames.items():
            cursor.execute(f"DROP TABLE IF EXISTS {live}")
            cursor.execute(f"ALTER TABLE {fresh} RENAME TO {live}")
            # SQLite cannot rename an index: the fresh ones go, the live DDL makes
            # them again under their own names.
            indexes = cursor.query(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
                " AND sql IS NOT NULL",
                {"table": live},
            )
            for index in indexes:
                cursor.execute(f"DROP INDEX {index['name']}")
        for statement in ddl:
            cursor.execute(self.ddl(statement))

    def advance(self, cursor: ViewCursor, key: str, position: int) -> None:
        assert isinstance(cursor, _SQLiteCursor)
        cursor.flush()
        self._insert_tracking(cursor._cursor, Tracking(key, position))

    def position(self, key: str) -> int:
        return self.max_tracking_id(key) or 0

    def close(self) -> None:
        self.datastore.close()


# -- PostgreSQL ------------------------------------------------------------------


def _postgres_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return Jsonb(value)
    return value


class _PostgresCursor(ViewCursor):
    _translated: dict[str, str] = {}  # noqa: RUF012 - a process-wide cache of SQL texts

    def __init__(self, cursor: Any, *, pipelined: bool = False) -> None:
        super().__init__()
        self._cursor = cursor
        self._pipeline: Any = None
        self._pipeline_context: AbstractContextManager[Any] | None = None
        if pipelined:
            self._enter_pipeline()

    def _enter_pipeline(self) -> None:
        context = self._cursor.connection.pipeline()
        self._pipeline = context.__enter__()
        self._pipeline_context = context

    def _leave_pipeline(self, error: BaseException | None = None) -> None:
        """Settle what was sent and leave pipeline mode (an error: as its block would)."""
        context, self._pipeline_context, self._pipeline = self._pipeline_context, None, None
        if context is None:
            return
        if error is None:
            context.__exit__(None, None, None)
        else:
            context.__exit__(type(error), error, error.__traceback__)

    @contextmanager
    def outside_pipeline(self) -> Iterator[None]:
        pipelined = self._pipeline_context is not None
        self._leave_pipeline()
        yield
        if pipelined:
            self._enter_pipeline()

    def sync(self) -> None:
        """Settle every statement sent so far, so the next fetch reads its own result."""
        self.flush()
        if self._pipeline is not None:
            self._pipeline.sync()

    def _translate(self, sql: str) -> str:
        translated = self._translated.get(sql)
        if translated is None:
            translated = NAMED_PARAM.sub(r"%(\1)s", sql)
            self._translated[sql] = translated
        return translated

    def _execute(self, sql: str, params: Mapping[str, Any]) -> None:
        values = {k: _postgres_value(v) for k, v in params.items()}
        self._cursor.execute(self._translate(sql), values, prepare=True)

    def _executemany(self, sql: str, params: list[Mapping[str, Any]]) -> None:
        # A cursor of its own: in pipeline mode a later fetch on the main cursor
        # could otherwise be handed the result of executemany's last statement.
        if type(params[0]) is CopiedRun:
            params[0].send(self)
            return
        statement = ArrayStatement.of(sql) if len(params) > 1 else None
        if statement is not None and statement.accepts(params):
            statement.run(self, params)
            return
        with self._cursor.connection.cursor() as cursor:
            cursor.executemany(
                self._translate(sql),
                [{k: _postgres_value(v) for k, v in row.items()} for row in params],
            )

    def fetchall(self) -> list[Row]:
        return list(self._cursor.fetchall())

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        # In pipeline mode a fetch may be handed an earlier statement's result
        # unless the earlier ones are settled first (reads are rare in a batch).
        self.sync()
        return super().query(sql, params)


class PostgresViewStore(PostgresTrackingRecorder, ViewStore):
    dialect = "postgres"
    writes_behind = True
    # One attempt, without the library's retry loop (ten tries, each waiting for the
    # pool): a request that reads a position during an outage is answered in seconds.
    max_tracking_id = getattr(
        PostgresTrackingRecorder.max_tracking_id,
        "__wrapped__",
        PostgresTrackingRecorder.max_tracking_id,
    )
    types = {  # noqa: RUF012
        "uuid": "UUID",
        "timestamp": "TIMESTAMPTZ",
        "json": "JSONB",
        "bigint": "BIGINT",
        "bool": "BOOLEAN",
    }

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        self.create_table()
        self.create_tables([_WORKERS_DDL])

    def _use_schema(self, cursor: Any) -> None:
        # Read-model tables live in the event store's schema (?schema= in the URL).
        if self.datastore.schema != "public":
            cursor.execute(
                SQL("SET LOCAL search_path TO {}").format(Identifier(self.datastore.schema))
            )

    def create_tables(self, statements: list[str]) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            self._use_schema(cursor)
            # Two processes starting at once must not race on CREATE TABLE.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('companion.ddl'))")
            for statement in statements:
                cursor.execute(self.ddl(statement))

    def write(self, key: str) -> AbstractContextManager[ViewCursor]:
        return self.write_all([key])

    @contextmanager
    def write_all(self, keys: Sequence[str]) -> Iterator[ViewCursor]:
        # Pipeline mode: a batch's statements go out without waiting for each
        # answer, which is where a projection's time would otherwise go.
        # Inside the transaction, not around it: a run written by COPY leaves pipeline
        # mode for its while (see arrays), which a transaction begun in it forbids.
        with (
            self.datastore.get_connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            view = _PostgresCursor(cursor, pipelined=True)
            try:
                self._use_schema(cursor)
                # A read model's commit need not wait for the disk: a crash can lose
                # only whole transactions, rows and position together, which the
                # runner then applies again. That wait is most of the live lag.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                if len(keys) == 1:
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (keys[0],))
                else:
                    # In the keys' order: unnest's rows come in the array's.
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(key))"
                        " FROM unnest(%s::text[]) AS key",
                        (sorted(set(keys)),),
                    )
                yield view
            except BaseException as error:
                view._leave_pipeline(error)
                raise
            view._leave_pipeline()

    @contextmanager
    def read(self) -> Iterator[ViewCursor]:
        # Ended by COMMIT, not ROLLBACK: it wrote nothing, and after a ROLLBACK
        # psycopg forgets every statement it prepared on the connection (DEALLOCATE
        # ALL), so the next request on it would prepare them all again.
        with self.datastore.transaction(commit=True) as cursor:
            self._use_schema(cursor)
            yield _PostgresCursor(cursor)

    def position_in(self, cursor: ViewCursor, key: str) -> int:
        row = cursor.query(
            f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = :key",
            {"key": key},
        )
        return int(row[0]["notification_id"]) if row else 0

    def position_sent(self, cursor: ViewCursor, key: str) -> Callable[[], int]:
        # A cursor of its own, so that no later statement's result takes its place;
        # in pipeline mode its answer is kept when the pipeline is next settled (a
        # COPY, a read, the position's advance), so reading it then costs nothing.
        assert isinstance(cursor, _PostgresCursor)
        cursor.flush()
        raw = cursor._cursor.connection.cursor()
        raw.execute(
            f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = %s",
            (key,),
            prepare=True,
        )

        def position() -> int:
            row = raw.fetchone()
            raw.close()
            return int(row["notification_id"]) if row else 0

        return position

    def replace_tables(
        self, cursor: ViewCursor, renames: Mapping[str, str], ddl: list[str]
    ) -> None:
        for fresh, live in renames.items():
            self._ddl(cursor, f"DROP TABLE IF EXISTS {live}")
            self._ddl(cursor, f"ALTER TABLE {fresh} RENAME TO {live}")
            # Index (and constraint) names follow their table's: the next rebuild
            # will want the fresh names again.
            indexes = cursor.query(
                "SELECT indexname FROM pg_indexes"
                " WHERE schemaname = current_schema() AND tablename = :table",
                {"table": live},
            )
            for index in indexes:
                name = str(index["indexname"])
                if name.startswith(fresh):
                    self._ddl(cursor, f"ALTER INDEX {name} RENAME TO {live + name[len(fresh) :]}")

    def drop_tables(self, cursor: ViewCursor, tables: list[str]) -> None:
        for table in tables:
            self._ddl(cursor, f"DROP TABLE IF EXISTS {table}")

    @staticmethod
    def _ddl(cursor: ViewCursor, statement: str) -> None:
        """Run a DROP or an ALTER inside a pipelined batch.

        psycopg forgets its prepared statements after either (and queues a
        DEALLOCATE ALL): let that go out before anything else is prepared, or it
        would take a statement prepared just before it along.
        """
        assert isinstance(cursor, _PostgresCursor)
        cursor.sync()
        cursor._cursor.execute(statement, prepare=False)
        cursor.sync()
        cursor._cursor.execute("SELECT 1", prepare=False)  # sends the DEALLOCATE ALL
        cursor.sync()

    @property
    def channel(self) -> str:
        """Where committed positions are announced, one channel per schema."""
        return f"companion.projections.{self.datastore.schema}"

    def announce(self, cursor: ViewCursor, name: str, position: int) -> None:
        self.announce_all(cursor, {name: position})

    def announce_all(self, cursor: ViewCursor, positions: Mapping[str, int]) -> None:
        # NOTIFY is transactional: it goes out when (and only if) the batch commits.
        # One notification, a line "name position" for each read model.
        cursor.execute(
            "SELECT pg_notify(:channel, :payload)",
            {
                "channel": self.channel,
                "payload": "\n".join(f"{name} {position}" for name, position in positions.items()),
            },
        )

    def listen(self, stopping: Callable[[], bool], timeout: float) -> Iterator[tuple[str, int]]:
        """Announced positions as (name, position), from a connection of its own.

        Yields ("", 0) once listening has begun, so the caller can read what was
        committed before then. Checks `stopping()` every `timeout` seconds and
        ends when it is true; a lost connection raises psycopg.Error.
        """
        pool = self.datastore.pool
        kwargs = pool.kwargs() if callable(pool.kwargs) else dict(pool.kwargs or {})
        conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
        with psycopg.connect(conninfo, **kwargs, autocommit=True) as conn:
            conn.execute(SQL("LISTEN {}").format(Identifier(self.channel)))
            yield "", 0
            while not stopping():
                for notify in conn.notifies(timeout=timeout, stop_after=1):
                    for line in notify.payload.splitlines():
                        name, _, position = line.rpartition(" ")
                        yield name, int(position)

    def advance(self, cursor: ViewCursor, key: str, position: int) -> None:
        assert isinstance(cursor, _PostgresCursor)
        cursor.sync()
        self._insert_tracking(cursor._cursor, Tracking(key, position))

    def advance_last(self, cursor: ViewCursor, key: str, position: int) -> None:
        # The upsert goes out behind the statements still unanswered and the
        # pipeline is left in the one round trip that answers them all; nothing
        # may be sent after it but the COMMIT.
        assert isinstance(cursor, _PostgresCursor)
        cursor.flush()
        with cursor._cursor.connection.cursor() as raw:
            self._check_has_multi_row_tracking_table(raw)
            raw.execute(
                self.insert_tracking_statement,
                {"application_name": key, "notification_id": position},
                prepare=True,
            )
            cursor._leave_pipeline()
            if self.datastore.single_row_tracking and raw.fetchone() is None:
                raise IntegrityError(f"Failed to record tracking for {key} {position}")

    def advance_all(self, cursor: ViewCursor, positions: Mapping[str, int]) -> None:
        """One statement for every position, refused as a whole if one would not move
        forward (the library's upsert, for several rows: a row it does not return was
        at or past its new position, which means another runner applied its events)."""
        if len(positions) == 1:
            super().advance_all(cursor, positions)
            return
        assert isinstance(cursor, _PostgresCursor)
        cursor.sync()
        cursor._cursor.execute(
            f"INSERT INTO {TRACKING_TABLE} (application_name, notification_id)"
            " SELECT * FROM unnest(%s::text[], %s::bigint[])"
            " ON CONFLICT (application_name) DO UPDATE"
            " SET notification_id = EXCLUDED.notification_id"
            f" WHERE {TRACKING_TABLE}.notification_id < EXCLUDED.notification_id"
            " RETURNING application_name",
            (list(positions), list(positions.values())),
            prepare=True,
        )
        rows = cursor._cursor.fetchall()
        if len(rows) != len(positions):
            moved = sorted(set(positions) - {str(row["application_name"]) for row in rows})
            raise IntegrityError(f"Failed to record tracking for {', '.join(moved)}")

    def position(self, key: str) -> int:
        return self.max_tracking_id(key) or 0

    def close(self) -> None:
        self.datastore.close()


# -- reading values back -----------------------------------------------------------


def as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def as_optional_uuid(value: Any) -> UUID | None:
    return None if value is None else as_uuid(value)


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
