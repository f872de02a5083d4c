"""Read models' tables on SQLite: the embedded default, beside the event store's file.

SQLite has one writer at a time: a write transaction takes the file's lock when
it begins (BEGIN IMMEDIATE), so the runner, a rebuild and every other process
writing this file take turns. Values are stored as SQLite has them: UUIDs and
times as text, JSON as its text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections.heartbeats import WORKERS_DDL
from projections.store import TRACKING_TABLE, Row, ViewCursor, ViewStore


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
        self.create_tables([WORKERS_DDL])

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
