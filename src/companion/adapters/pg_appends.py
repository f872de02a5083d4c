"""Appends to the events table: ids from a counter row, one round trip, commits shared.

The library's recorder keeps commit order equal to notification-id order by
taking ``LOCK TABLE … IN EXCLUSIVE MODE`` in every insert. Here the ids come
from a one-row counter table, ``<events>_head`` (see `pg_schema`), updated by
the same statement that inserts the events:

    WITH head AS (UPDATE <events>_head SET last = last + n RETURNING last - n)
    INSERT INTO <events> … notification_id = head's value + 1 … n

sent alone, so it is its own transaction. The counter row's lock is taken by
that statement and released by its commit, with no client round trip in
between; a writer that draws ids waits for the writer before it to commit, so
ids become visible in id order and a reader that saw id N will never see a
lower one appear later. A rolled-back insert rolls the counter back too: no
holes. Optimistic concurrency is the primary key (originator_id,
originator_version): a second writer of a version gets the library's
IntegrityError.

Writers in one process share commits (group commit): while a statement is in
flight, the appends that arrive queue up and go together in the next one, each
keeping its own contiguous ids, on a connection the recorder keeps. One such
lane: a second one, its statement already waiting on the counter row while
the first commit waits for the disk, overlapped nothing (the counter row
makes the two commits take turns anyway) and halved each commit's batch; with
4 and 8 writers one lane appended 10 to 50 % more. A batch that breaks the
primary key is rolled back as a whole and its appends are retried one by one,
so only the conflicting one fails.

The wake-up for listeners (a notification on the channel the projection
runner LISTENs to) is part of the same statement, ``pg_notify`` in a CTE: it
is delivered when the events commit, and the append stays one prepared
statement and one round trip. Notifying commits are serialised by PostgreSQL
until they are on disk, but so are our appends already (the counter row), and
a batch of appends notifies once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Connection
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from companion.adapters.pg_connections import idle_connection_alive
from companion.adapters.pg_schema import StoreLayoutOutdated, head_table_name, outdated_layout

# At most this many events go in one statement; more waiting appends wait for the next.
MAX_BATCH_EVENTS = 1000
# Up to this many events go as rows of VALUES, beyond it as arrays.
MAX_VALUES_ROWS = 32
# Commits in flight at once from one process, each on its own connection. The
# counter row makes commits take turns, so a second lane only splits the batches.
LANES = 1


@dataclass
class _Append:
    """One caller's insert_events, waiting for a commit (its own or a shared one)."""

    events: Sequence[StoredEvent]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    ids: list[int] | None = None
    error: BaseException | None = None


@dataclass
class _Lane:
    """Appends taking turns on one kept connection, each commit shared by those waiting."""

    appends: list[_Append] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    leading: bool = False
    writer: Connection[DictRow] | None = None


class GroupCommitRecorder(PostgresApplicationRecorder):
    """The library's application recorder with our write path: appends that draw their ids
    from the counter row and share commits, each commit one round trip.

    A store still in the library's layout has no counter row: it is refused
    (`check_layout`) before anything is appended to it.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.head_table_name = head_table_name(events_table_name)
        self.check_identifier_length(self.head_table_name)
        schema = Identifier(datastore.schema)
        table = Identifier(events_table_name)
        head = Identifier(self.head_table_name)
        id_type = SQL(datastore.originator_id_type)
        self.insert_statement = SQL(
            "WITH head AS ("
            " UPDATE {schema}.{head} SET last = last + %(n)s RETURNING last - %(n)s AS base"
            "), new AS ("
            " INSERT INTO {schema}.{table}"
            " (originator_id, originator_version, topic, state, notification_id)"
            " SELECT e.originator_id, e.originator_version, e.topic, e.state, head.base + e.i"
            " FROM head, unnest("
            "%(originator_ids)s::{id_type}[], %(versions)s::bigint[], %(topics)s::text[],"
            " %(states)s::bytea[]) WITH ORDINALITY"
            " AS e(originator_id, originator_version, topic, state, i)"
            " RETURNING notification_id"
            "), woken AS (SELECT pg_notify({channel}, ''))"
            " SELECT notification_id FROM new, woken ORDER BY notification_id"
        ).format(
            schema=schema,
            table=table,
            head=head,
            id_type=id_type,
            channel=Literal(self.channel_name),
        )
        self._rows_statements: dict[int, Composed] = {}
        self._rendered: dict[int, bytes] = {}
        """Each insert statement as sent, by its number of VALUES rows (0: the arrays one)."""
        self._lanes = [_Lane() for _ in range(LANES)]
        self._layout_checked = False

    def check_layout(self) -> None:
        """Refuse a store whose events table still has the library's layout."""
        if self._layout_checked:
            return
        with self.datastore.get_connection() as conn:
            if outdated_layout(conn, self.datastore.schema, self.events_table_name):
                raise StoreLayoutOutdated(
                    f"the event store {self.datastore.schema}.{self.events_table_name} was"
                    " written by an older version: run `companion store migrate` once, with"
                    " every other process of this store stopped, then start again"
                )
        self._layout_checked = True

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        if not stored_events:
            return []
        self.check_layout()
        append = _Append(stored_events)
        # An idle lane if there is one, else the one with the fewest waiting.
        lane = min(self._lanes, key=lambda lane: (lane.leading, len(lane.appends)))
        with lane.lock:
            lane.appends.append(append)
            append.lead = not lane.leading
            lane.leading = True
        while True:
            if not append.lead:
                append.done.wait()
            with lane.lock:
                # Woken either with its result or to lead the next commit.
                leads = append.lead
                if leads:
                    append.done.clear()
            if not leads:
                break
            self._lead(lane)
        if append.error is not None:
            raise append.error
        assert append.ids is not None
        return append.ids

    def _lead(self, lane: _Lane) -> None:
        """Commit everything queued so far, then hand the lead to the next in line."""
        with lane.lock:
            batch: list[_Append] = []
            size = 0
            while lane.appends and (
                not batch or size + len(lane.appends[0].events) <= MAX_BATCH_EVENTS
            ):
                append = lane.appends.pop(0)
                batch.append(append)
                size += len(append.events)
        try:
            self._commit(lane, batch)
        finally:
            with lane.lock:
                for append in batch:
                    append.lead = False
                    append.done.set()
                if lane.appends:
                    following = lane.appends[0]
                    following.lead = True
                    following.done.set()
                else:
                    lane.leading = False

    def _commit(self, lane: _Lane, batch: list[_Append]) -> None:
        events = [event for append in batch for event in append.events]
        try:
            ids = self._insert(lane, events)
        except IntegrityError as error:
            if len(batch) == 1:
                batch[0].error = error
                return
            # One of them conflicts; the whole statement was rolled back. Alone,
            # each append commits or fails on its own.
            for append in batch:
                self._commit(lane, [append])
            return
        except BaseException as error:
            for append in batch:
                append.error = error
            return
        start = 0
        for append in batch:
            append.ids = ids[start : start + len(append.events)]
            start += len(append.events)

    def _insert(self, lane: _Lane, events: Sequence[StoredEvent]) -> list[int]:
        statement: Composed
        params: Any
        shape = len(events) if len(events) <= MAX_VALUES_ROWS else 0
        if shape:
            # A few events (the usual append is one) as rows of VALUES:
            # unnest of arrays cost as much again as the insert itself.
            statement = self._rows_statement(len(events))
            params = [
                value
                for e in events
                for value in (e.originator_id, e.originator_version, e.topic, e.state)
            ]
        else:
            statement = self.insert_statement
            params = {
                "n": len(events),
                "originator_ids": [e.originator_id for e in events],
                "versions": [e.originator_version for e in events],
                "topics": [e.topic for e in events],
                "states": [e.state for e in events],
            }
        with _translated_errors():
            conn = self._writer_connection(lane)
            try:
                return self._insert_and_notify(conn, shape, statement, params, len(events))
            finally:
                if conn.broken or conn.closed:
                    self._release_writer(lane)

    def _rows_statement(self, count: int) -> Composed:
        """The insert of `count` events as rows of VALUES, prepared once per count."""
        statement = self._rows_statements.get(count)
        if statement is None:
            schema = Identifier(self.datastore.schema)
            row = SQL("(%s::{}, %s::bigint, %s::text, %s::bytea, {})")
            id_type = SQL(self.datastore.originator_id_type)
            statement = self._rows_statements[count] = SQL(
                "WITH head AS ("
                " UPDATE {schema}.{head} SET last = last + {count} RETURNING last - {count} AS base"
                "), woken AS (SELECT pg_notify({channel}, ''))"
                " INSERT INTO {schema}.{table}"
                " (originator_id, originator_version, topic, state, notification_id)"
                " SELECT e.originator_id, e.originator_version, e.topic, e.state, head.base + e.i"
                " FROM head, woken, (VALUES {rows})"
                " AS e(originator_id, originator_version, topic, state, i)"
                " RETURNING notification_id"
            ).format(
                schema=schema,
                head=Identifier(self.head_table_name),
                table=Identifier(self.events_table_name),
                count=Literal(count),
                channel=Literal(self.channel_name),
                rows=SQL(", ").join(row.format(id_type, Literal(i + 1)) for i in range(count)),
            )
        return statement

    def _insert_and_notify(
        self,
        conn: Connection[DictRow],
        shape: int,
        statement: Composed,
        params: Any,
        count: int,
    ) -> list[int]:
        # One prepared statement, its own transaction: one round trip. Ids follow
        # the events' order (the i-th event has the i-th id).
        text = self._rendered.get(shape)
        if text is None:
            # A Composed statement is rendered again at every execute: once is enough.
            text = self._rendered[shape] = statement.as_bytes(conn)
        with conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(text, params, prepare=True)
            ids = sorted(row[0] for row in curs.fetchall())
        if len(ids) != count:
            raise ProgrammingError(f"inserted {len(ids)} events of {count}")
        return ids

    def _writer_connection(self, lane: _Lane) -> Connection[DictRow]:
        """The lane's connection: its appends take turns, so one is kept.

        Kept out of the pool, it stays warm (its statements prepared, its server
        process hot); it is checked before each use like a pooled one.
        """
        conn = lane.writer
        if conn is not None:
            try:
                idle_connection_alive(conn)
            except psycopg.Error:
                self._release_writer(lane)
                conn = None
        if conn is None:
            # As the datastore opens it: without waiting (getconn waits its timeout).
            self.datastore.pool.open(wait=False)
            conn = lane.writer = self.datastore.pool.getconn()
        return conn

    def _release_writer(self, lane: _Lane) -> None:
        conn, lane.writer = lane.writer, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.datastore.pool.putconn(conn)

    def close(self) -> None:
        """Give the kept connections back (the pool closes them with the others)."""
        for lane in self._lanes:
            with lane.lock:
                self._release_writer(lane)

    @property
    def queued(self) -> int:
        """Appends of this process waiting for a commit (not counting one in flight)."""
        return sum(len(lane.appends) for lane in self._lanes)


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    """psycopg's errors as the library's, as its datastore translates them."""
    try:
        yield
    except psycopg.InterfaceError as error:
        raise InterfaceError(str(error)) from error
    except psycopg.OperationalError as error:
        raise OperationalError(str(error)) from error
    except psycopg.DataError as error:
        raise DataError(str(error)) from error
    except psycopg.IntegrityError as error:
        raise IntegrityError(str(error)) from error
    except psycopg.InternalError as error:
        raise InternalError(str(error)) from error
    except psycopg.ProgrammingError as error:
        raise ProgrammingError(str(error)) from error
    except psycopg.NotSupportedError as error:
        raise NotSupportedError(str(error)) from error
    except psycopg.DatabaseError as error:
        raise DatabaseError(str(error)) from error
    except psycopg.Error as error:
        raise PersistenceError(str(error)) from error
