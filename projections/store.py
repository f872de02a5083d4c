"""Where read models keep their tables: the view store's interface and its cursor.

Each store is one of the library's tracking recorders, so a read model's rows
and its tracking position are written by the same connection in the same
transaction: a crash never applies an event twice or skips one. There is one
on SQLite (`projections.sqlite_views`) and one on PostgreSQL
(`projections.postgres_views`).

Read models write portable SQL: named parameters as ``:name`` and column types
as ``{uuid}``, ``{timestamp}``, ``{json}``, ``{bigint}``, ``{bool}``; each
store translates them for its database, and the functions at the end read the
values back the same whichever store gave them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, Literal
from uuid import UUID

Row = dict[str, Any]
_SQL, _PARAMS = itemgetter(0), itemgetter(1)
TRACKING_TABLE = "projection_tracking"


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

    @abstractmethod
    def close(self) -> None: ...


# -- reading values back -----------------------------------------------------------


def as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def as_optional_uuid(value: Any) -> UUID | None:
    return None if value is None else as_uuid(value)


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
