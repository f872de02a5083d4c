"""Our PostgreSQL application recorder: no table lock, one round trip an append.

The library's recorder keeps commit order equal to notification-id order by
taking ``LOCK TABLE … IN EXCLUSIVE MODE`` in every insert, then sends the lock,
the INSERT, a NOTIFY and the COMMIT as statements of their own. Ours draws the
ids from a one-row counter table in the statement that inserts the events, and
shares commits between the writers of a process (`pg_appends`); the table's
layout, and the migration from the library's, are in `pg_schema`. Here: the
recorder they make, and its reads, prepared and, for a catch-up, as plain tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from companion.adapters.pg_appends import GroupCommitRecorder
from companion.adapters.pg_schema import events_table_statements

NotificationRow = tuple[int, Any, int, str, bytes]
"""(id, originator_id, originator_version, topic, state), as the log is read."""


class PgApplicationRecorder(GroupCommitRecorder):
    """The library's application recorder with our write path and prepared reads."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        table = Identifier(events_table_name)
        self.sql_create_statements = events_table_statements(
            datastore.schema,
            events_table_name,
            datastore.originator_id_type,
            self.notification_id_index_name,
        )
        self.max_notification_id_statement = SQL(
            "SELECT MAX(notification_id) FROM {schema}.{table}"
        ).format(schema=schema, table=table)
        self.select_notifications_statements = {
            (has_start, inclusive, has_stop, has_topics): _select_notifications_statement(
                schema, table, has_start, inclusive, has_stop, has_topics
            )
            for has_start in (False, True)
            for inclusive in (False, True)
            for has_stop in (False, True)
            for has_topics in (False, True)
        }
        # At startup, before any reader or writer trusts the table.
        self.check_layout()

    def create_table(self) -> None:
        self.check_layout()
        super().create_table()

    # -- reading -----------------------------------------------------------------------

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        rows = self.select_notification_rows(
            start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )
        # Positionally, as the dataclass declares its fields: keywords cost twice as much.
        return [Notification(o, v, t, s, i) for i, o, v, t, s in rows]

    def select_notification_rows(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[NotificationRow]:
        """What `select_notifications` reads, as tuples (id, originator_id,
        originator_version, topic, state): a catch-up reads millions, and needs no
        dataclass of each. Read in binary: bytea without its hex text both ways."""
        key = (start is not None, inclusive_of_start, stop is not None, bool(topics))
        params: dict[str, Any] = {"start": start, "stop": stop, "limit": limit}
        if topics:
            params["topics"] = list(topics)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(
                self.select_notifications_statements[key], params, prepare=True, binary=True
            )
            return curs.fetchall()

    def max_notification_id(self) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.max_notification_id_statement, prepare=True)
            row = curs.fetchone()
            assert row is not None
            value: int | None = row["max"]
            return value


def _select_notifications_statement(
    schema: Identifier,
    table: Identifier,
    has_start: bool,
    inclusive: bool,
    has_stop: bool,
    has_topics: bool,
) -> Composed:
    where = []
    if has_start:
        where.append("notification_id >= %(start)s" if inclusive else "notification_id > %(start)s")
    if has_stop:
        where.append("notification_id <= %(stop)s")
    if has_topics:
        where.append("topic = ANY(%(topics)s)")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM {schema}.{table}" + clause + " ORDER BY notification_id LIMIT %(limit)s"
    ).format(schema=schema, table=table)
