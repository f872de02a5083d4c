"""The events table's layout on PostgreSQL, how the library's older one is told apart, and
the migration from it.

Ours keeps, beside ``<events>``, a one-row counter table ``<events>_head`` that
appends draw their notification ids from (see `pg_appends`). The library's
layout has no counter: its ids come from a sequence, in an order that only its
table lock makes the commit order. A store in that layout is refused until
`migrate` has brought it to ours.
"""

from __future__ import annotations

from typing import Any

import structlog
from eventsourcing.persistence import ProgrammingError
from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

log = structlog.get_logger(__name__)


class StoreLayoutOutdated(ProgrammingError):
    """The events table was written by the library's recorder: migrate it before use."""


def head_table_name(events_table_name: str) -> str:
    return f"{events_table_name}_head"


def events_table_statements(
    schema: str, events_table_name: str, originator_id_type: str, notification_id_index: str
) -> list[Composed]:
    """The events table, its index of notification ids, and the counter table."""
    table = Identifier(events_table_name)
    id_type = SQL(originator_id_type)
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
            "originator_id {id_type} NOT NULL, "
            "originator_version bigint NOT NULL, "
            "topic text, "
            "state bytea, "
            "notification_id bigint NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version)) "
            "WITH (autovacuum_enabled = true, "
            "autovacuum_vacuum_threshold = 100000000, "
            "autovacuum_vacuum_scale_factor = 0.5, "
            "autovacuum_analyze_threshold = 1000, "
            "autovacuum_analyze_scale_factor = 0.01)"
        ).format(schema=Identifier(schema), table=table, id_type=id_type),
        SQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {schema}.{table} (notification_id)"
        ).format(index=Identifier(notification_id_index), schema=Identifier(schema), table=table),
        *head_table_statements(schema, events_table_name),
    ]


def head_table_statements(schema: str, events_table_name: str) -> list[Composed]:
    """The counter table and its one row, starting after the highest id already stored."""
    head = Identifier(head_table_name(events_table_name))
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{head} ("
            "one boolean PRIMARY KEY DEFAULT true CHECK (one), last bigint NOT NULL)"
        ).format(schema=Identifier(schema), head=head),
        SQL(
            "INSERT INTO {schema}.{head} (last)"
            " SELECT COALESCE(MAX(notification_id), 0) FROM {schema}.{table}"
            " ON CONFLICT (one) DO NOTHING"
        ).format(schema=Identifier(schema), head=head, table=Identifier(events_table_name)),
    ]


def outdated_layout(conn: Connection[Any], schema: str, events_table_name: str) -> bool:
    """Whether the events table exists without its counter (the library's layout)."""
    row = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
            (
                f"{_quoted(schema)}.{_quoted(events_table_name)}",
                f"{_quoted(schema)}.{_quoted(head_table_name(events_table_name))}",
            ),
        )
        .fetchone()
    )
    assert row is not None
    return bool(row[0]) and not row[1]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def migrate(conn: Connection[Any], schema: str, events_table_name: str) -> int | None:
    """Bring a store from the library's layout to ours, in one transaction.

    Every event keeps its row, its notification id and so its order; tracking
    positions (which are notification ids) stay valid as they are. The id
    column loses its sequence default, so a process of an older version can no
    longer append (its inserts fail) instead of drawing ids out of commit order.
    Returns the highest notification id (0 for no event), or None when there
    was nothing to migrate.
    """
    table = SQL("{}.{}").format(Identifier(schema), Identifier(events_table_name))
    with conn.transaction():
        if not outdated_layout(conn, schema, events_table_name):
            return None
        # Waits for writers of the older version to finish, and keeps new ones out.
        conn.execute(SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
        curs = conn.cursor(row_factory=tuple_row)
        row = curs.execute(
            "SELECT pg_get_serial_sequence(%s, 'notification_id')",
            (f"{_quoted(schema)}.{_quoted(events_table_name)}",),
        ).fetchone()
        assert row is not None
        sequence = row[0]
        conn.execute(SQL("ALTER TABLE {} ALTER COLUMN notification_id DROP DEFAULT").format(table))
        if sequence:
            conn.execute(SQL("DROP SEQUENCE {}").format(SQL(sequence)))
        for statement in head_table_statements(schema, events_table_name):
            conn.execute(statement)
        row = curs.execute(SQL("SELECT MAX(notification_id) FROM {}").format(table)).fetchone()
        assert row is not None
        highest: int = row[0] or 0
    log.info("store.migrated", table=f"{schema}.{events_table_name}", highest=highest)
    return highest
