"""Read models' tables on PostgreSQL, in the event store's schema.

A batch is written in pipeline mode (its statements go out without waiting for
each answer), runs of one statement as one statement over arrays or as a COPY
(`projections.arrays`); each read model's writers are serialised by an advisory
lock of its own, and a committed position is announced to other processes with
NOTIFY, which `listen` hears.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from projections.arrays import NAMED_PARAM, ArrayStatement, CopiedRun
from projections.heartbeats import WORKERS_DDL
from projections.store import TRACKING_TABLE, Row, ViewCursor, ViewStore


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
        self.create_tables([WORKERS_DDL])

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


class ReadOnlyViews(TypeError):
    """A write was asked of a view store that only reads (a replica's)."""


class PostgresReplicaViews(PostgresViewStore):
    """The read models' tables on a read-only copy of the database (a streaming replica).

    Read, never written: every transaction of its connections is read-only
    (`default_transaction_read_only`), so a write meant for the primary fails here
    rather than land in the wrong database, and nothing is created at start. Its
    tracking rows are the replica's own copy of the positions, which is what a read
    that must show a write waits for.
    """

    writes_behind = False

    def __init__(self, datastore: PostgresDatastore) -> None:
        PostgresTrackingRecorder.__init__(self, datastore, tracking_table_name=TRACKING_TABLE)
        kwargs = datastore.pool.kwargs
        assert isinstance(kwargs, dict), "the pool's connection options are a dict"
        options = str(kwargs.get("options") or "")
        kwargs["options"] = f"{options} -c default_transaction_read_only=on".strip()

    def create_tables(self, statements: list[str]) -> None:
        raise ReadOnlyViews("a replica's tables are created on the primary")

    def write_all(self, keys: Sequence[str]) -> Iterator[ViewCursor]:  # type: ignore[override]
        raise ReadOnlyViews("read models are written on the primary, not on a replica")
