"""A run of one statement, sent to PostgreSQL as one statement over arrays.

A batch defers its writes (`ViewCursor.defer`); a run of the same plain
statement — an ``INSERT … VALUES`` of one row, or an ``UPDATE … SET … WHERE
key = :param`` — goes out as one statement whose parameters are arrays, one
per parameter, of its column's type, sent in binary: thousands of rows for one
short statement, prepared once. The rows are written in their order with the
outcome of writing them one by one; an UPDATE run goes this way only when no
two of its rows name the same key (two would meet in one join and one would be
lost). Anything less plain (a parameter inside a sub-select, an ON CONFLICT, a
WHERE of more than one condition) is not read here and goes row by row.

An INSERT run whose row is only parameters and plain constants (TRUE, FALSE,
NULL, a whole number) goes by binary COPY instead, when every value is of the
Python type its column's binary form is made from (a UUID for a uuid column, an
aware datetime for a timestamptz one, a dict or list for jsonb…): the rows are
formatted in C, with no array of each column built in Python, and land as the
INSERT would land them (COPY checks the same constraints and fills the same
defaults). A value of any other type sends the run as arrays, where the server
converts it as a row-by-row write would.
"""

from __future__ import annotations

import io
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import Jsonb

NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_ONE_PARAM = re.compile(r":([A-Za-z_]\w*)")
_INSERT = re.compile(
    r"\s*INSERT INTO (?P<table>\w+)\s*\((?P<columns>[^)]*)\)\s*VALUES\s*\((?P<row>.*)\)\s*",
    re.DOTALL,
)
_UPDATE = re.compile(
    r"\s*UPDATE (?P<table>\w+) SET (?P<sets>.*) WHERE (?P<key>\w+) = :(?P<param>\w+)\s*",
    re.DOTALL,
)
_ASSIGNMENT = re.compile(r"(?P<column>\w+)\s*=\s*(?P<value>.*)", re.DOTALL)
# What an UPDATE may set a column to: a parameter, or the column moved by one.
_PLAIN_VALUE = re.compile(r":\w+|(?P<column>\w+)\s*[-+]\s*:\w+")
_JSON_TYPES = (dict, list)
ROWS = 5000
"""Rows a statement at most."""


class Cursor(Protocol):
    """What the statements need of a view cursor: a read inside the batch, a raw cursor."""

    _cursor: Any

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def outside_pipeline(self) -> AbstractContextManager[None]:
        """COPY cannot be pipelined: what was sent is settled first, the pipeline left."""
        ...


def _top_level_items(text: str) -> list[str]:
    """`a, f(b, c), 'x,y'` → ["a", "f(b, c)", "'x,y'"]."""
    items, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            items.append(text[start:index].strip())
            start = index + 1
    items.append(text[start:].strip())
    return items


_COPY_TYPES: dict[str, tuple[str, frozenset[type]]] = {
    "uuid": ("uuid", frozenset({UUID})),
    "text": ("text", frozenset({str})),
    "bigint": ("int8", frozenset({int})),
    "integer": ("int4", frozenset({int})),
    "smallint": ("int2", frozenset({int})),
    "boolean": ("bool", frozenset({bool})),
    "double precision": ("float8", frozenset({float})),
    "timestamp with time zone": ("timestamptz", frozenset({datetime})),
    "jsonb": ("jsonb", frozenset({dict, list})),
}
"""A column type COPY may write: its binary type, and the Python types (exactly, or
None) whose values it takes as an INSERT would. A bool is not an int here."""
_CONSTANTS: dict[str, tuple[Any, frozenset[str]]] = {
    "TRUE": (True, frozenset({"boolean"})),
    "FALSE": (False, frozenset({"boolean"})),
    "NULL": (None, frozenset(_COPY_TYPES)),
}
_WHOLE_NUMBER = re.compile(r"-?\d{1,18}")
_NONE = type(None)
_TZINFO = attrgetter("tzinfo")
_SQL, _PARAMS = itemgetter(0), itemgetter(1)


class _Copy:
    """An INSERT run as one binary COPY: parameters' columns first, then constants'."""

    def __init__(self, statement: str, types: list[str], columns: list[str], params: list[str]):
        self.statement, self.types, self.column_types = statement, types, columns
        self._params = params
        self._constants: tuple[Any, ...] = ()
        self._connection: psycopg.Connection[Any] | None = None

    @classmethod
    def plan(
        cls, table: str, columns: list[str], row: list[str], types: dict[str, str]
    ) -> _Copy | None:
        """How to COPY the INSERT of `row` into `columns`, or None when it cannot be."""
        params: list[tuple[str, str]] = []
        constants: list[tuple[str, Any]] = []
        for column, item in zip(columns, row, strict=True):
            kind = types.get(column)
            if kind not in _COPY_TYPES:
                return None
            param = _ONE_PARAM.fullmatch(item)
            if param is not None:
                params.append((column, param.group(1)))
            elif item.upper() in _CONSTANTS:
                value, fits = _CONSTANTS[item.upper()]
                if kind not in fits:
                    return None
                constants.append((column, value))
            elif _WHOLE_NUMBER.fullmatch(item) and kind in ("bigint", "integer", "smallint"):
                constants.append((column, int(item)))
            else:
                return None
        if not params:
            return None
        order = [c for c, _ in params] + [c for c, _ in constants]
        plan = cls(
            f"COPY {table} ({', '.join(order)}) FROM STDIN (FORMAT BINARY)",
            [_COPY_TYPES[types[c]][0] for c in order],
            [types[c] for c, _ in params],
            [p for _, p in params],
        )
        plan._constants = tuple(v for _, v in constants)
        return plan

    def rows(self, params: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]] | None:
        """The run's rows in COPY's column order, or None when a value does not fit."""
        if len(self._params) == 1:
            name = self._params[0]
            rows: list[tuple[Any, ...]] = [(p[name],) for p in params]
        else:
            rows = list(map(itemgetter(*self._params), params))
        for kind, values in zip(self.column_types, zip(*rows, strict=True), strict=True):
            found = set(map(type, values))
            found.discard(_NONE)
            if not found <= _COPY_TYPES[kind][1]:
                return None
            if kind == "timestamp with time zone" and None in set(
                map(_TZINFO, filter(None, values))  # (a datetime is never false)
            ):
                return None  # a naive datetime: the server's time zone makes it aware
        if self._constants:
            constants = self._constants
            rows = [row + constants for row in rows]
        return rows

    def run(self, cursor: Cursor, rows: list[tuple[Any, ...]]) -> None:
        self._connection = cursor._cursor.connection
        with cursor.outside_pipeline(), cursor._cursor.copy(self.statement) as copy:
            copy.set_types(self.types)
            write = copy.write_row
            for row in rows:
                write(row)

    def formatted(self, rows: list[tuple[Any, ...]]) -> bytes | None:
        """The rows as this COPY's data, formatted by the calling thread with the
        adapters of the connection that last sent one (None before any did, or when
        it is closed): a cursor of its is only asked to adapt, nothing is sent."""
        if self._connection is None:
            return None
        try:
            cursor = self._connection.cursor()
        except psycopg.Error:
            return None
        data = io.BytesIO()
        with Copy(cursor, binary=True, writer=FileWriter(data)) as copy:
            copy.set_types(self.types)
            write = copy.write_row
            for row in rows:
                write(row)
        return data.getvalue()


class CopiedRun(dict[str, Any]):
    """A run of one INSERT already formatted as its COPY's data, in a batch's statements
    where the run's rows were: it stands for all of them (see `copied`)."""

    def __init__(self, copy: _Copy, data: bytes) -> None:
        super().__init__()
        self.plan, self.data = copy, data

    def send(self, cursor: Cursor) -> None:
        with cursor.outside_pipeline(), cursor._cursor.copy(self.plan.statement) as copy:
            copy.write(self.data)


def copied(statements: list[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, Mapping[str, Any]]]:
    """`statements` with each run that a view cursor's flush would send by COPY already
    formatted, as one `CopiedRun`: a catch-up formats a batch's rows in the thread that
    handled them while the writer's thread sends the batch before."""
    result: list[tuple[str, Mapping[str, Any]]] = []
    for sql, run in groupby(statements, _SQL):
        params = list(map(_PARAMS, run))
        statement = ArrayStatement.of(sql) if len(params) > 1 else None
        copy = statement._copy if isinstance(statement, ArrayInsert) else None
        rows = copy.rows(params) if copy is not None else None
        data = copy.formatted(rows) if copy is not None and rows is not None else None
        if copy is not None and data is not None:
            result.append((sql, CopiedRun(copy, data)))
        else:
            result.extend((sql, param) for param in params)
    return result


_column_types: dict[str, dict[str, str]] = {}
"""table → column → type; a new version's tables have new names, a rebuild's the same types."""


def _types(cursor: Cursor, table: str) -> dict[str, str]:
    types = _column_types.get(table)
    if types is None:
        rows = cursor.query(
            "SELECT attname AS name, format_type(atttypid, atttypmod) AS type"
            " FROM pg_attribute WHERE attrelid = CAST(:table AS regclass)"
            " AND attnum > 0 AND NOT attisdropped",
            {"table": table},
        )
        types = {str(r["name"]): str(r["type"]) for r in rows}
        _column_types[table] = types
    return types


class ArrayStatement(ABC):
    _known: dict[str, ArrayStatement | None] = {}  # noqa: RUF012 - a process-wide cache

    def __init__(self, table: str) -> None:
        self.table = table
        self.params: dict[str, str] = {}
        """Each parameter, and the column that gives its array's type."""
        self._statement: str | None = None

    @staticmethod
    def of(sql: str) -> ArrayStatement | None:
        """The array form of `sql`, or None when it is not plain enough."""
        if sql not in ArrayStatement._known:
            plain = "SELECT" not in sql.upper() and "ON CONFLICT" not in sql.upper()
            ArrayStatement._known[sql] = (
                (ArrayInsert.read(sql) or ArrayUpdate.read(sql)) if plain else None
            )
        return ArrayStatement._known[sql]

    def _arrays(self, types: dict[str, str]) -> tuple[str, str]:
        names = list(self.params)
        arrays = ", ".join(f"%b::{types[self.params[n]]}[]" for n in names)
        return f"unnest({arrays})", f"u({', '.join(f'p_{n}' for n in names)})"

    @abstractmethod
    def _build(self, types: dict[str, str]) -> str: ...

    def accepts(self, params: list[Mapping[str, Any]]) -> bool:
        return True

    def run(self, cursor: Cursor, params: list[Mapping[str, Any]]) -> None:
        if self._statement is None:
            self._statement = self._build(_types(cursor, self.table))
        self._run_arrays(cursor, params)

    def _run_arrays(self, cursor: Cursor, params: list[Mapping[str, Any]]) -> None:
        assert self._statement is not None
        names = list(self.params)
        for start in range(0, len(params), ROWS):
            chunk = params[start : start + ROWS]
            arrays = [
                [
                    Jsonb(value) if type(value) in _JSON_TYPES else value
                    for value in (row[name] for row in chunk)
                ]
                for name in names
            ]
            cursor._cursor.execute(self._statement, arrays, prepare=True)


def _with_params(item: str) -> str:
    return NAMED_PARAM.sub(lambda m: f"u.p_{m.group(1)}", item)


class ArrayInsert(ArrayStatement):
    """INSERT INTO t (a, b, c) VALUES (:a, :b, FALSE) → INSERT … SELECT … FROM unnest(…)."""

    def __init__(self, table: str, columns: list[str], row: list[str]) -> None:
        super().__init__(table)
        self.columns, self.row = columns, row
        self._copy: _Copy | None = None
        for column, item in zip(columns, row, strict=True):
            match = _ONE_PARAM.fullmatch(item)
            if match is not None:
                self.params.setdefault(match.group(1), column)

    @classmethod
    def read(cls, sql: str) -> ArrayInsert | None:
        match = _INSERT.fullmatch(sql)
        if match is None:
            return None
        columns = [c.strip() for c in match["columns"].split(",")]
        row = _top_level_items(match["row"])
        if len(columns) != len(row):
            return None
        if any(_ONE_PARAM.fullmatch(i) is None and NAMED_PARAM.search(i) for i in row):
            return None  # a parameter inside an expression: its type is not its column's
        return cls(match["table"], columns, row)

    def run(self, cursor: Cursor, params: list[Mapping[str, Any]]) -> None:
        if self._statement is None:
            types = _types(cursor, self.table)
            self._copy = _Copy.plan(self.table, self.columns, self.row, types)
            self._statement = self._build(types)
        rows = self._copy.rows(params) if self._copy is not None else None
        if rows is None:
            self._run_arrays(cursor, params)
        else:
            assert self._copy is not None
            self._copy.run(cursor, rows)

    def _build(self, types: dict[str, str]) -> str:
        source, alias = self._arrays(types)
        values = ", ".join(_with_params(item) for item in self.row)
        return (
            f"INSERT INTO {self.table} ({', '.join(self.columns)})"
            f" SELECT {values} FROM {source} AS {alias}"
        )


class ArrayUpdate(ArrayStatement):
    """UPDATE t SET a = a + :n WHERE id = :id → UPDATE t SET … FROM unnest(…) WHERE id = u.p_id."""

    def __init__(self, table: str, sets: list[tuple[str, str]], key: str, param: str) -> None:
        super().__init__(table)
        self.sets, self.key, self.param = sets, key, param
        for column, value in sets:
            for name in NAMED_PARAM.findall(value):
                self.params.setdefault(name, column)
        self.params.setdefault(param, key)

    @classmethod
    def read(cls, sql: str) -> ArrayUpdate | None:
        match = _UPDATE.fullmatch(sql)
        if match is None:
            return None
        sets = []
        for item in _top_level_items(match["sets"]):
            assignment = _ASSIGNMENT.fullmatch(item)
            if assignment is None:
                return None
            column, value = assignment["column"], assignment["value"].strip()
            plain = _PLAIN_VALUE.fullmatch(value)
            if NAMED_PARAM.search(value) and (
                plain is None or plain["column"] not in (None, column)
            ):
                return None  # a parameter whose type is not its column's
            sets.append((column, value))
        return cls(match["table"], sets, match["key"], match["param"])

    def accepts(self, params: list[Mapping[str, Any]]) -> bool:
        keys = [row[self.param] for row in params]
        return len(set(keys)) == len(keys)

    def _build(self, types: dict[str, str]) -> str:
        source, alias = self._arrays(types)
        sets = ", ".join(f"{column} = {_with_params(value)}" for column, value in self.sets)
        return (
            f"UPDATE {self.table} SET {sets} FROM {source} AS {alias}"
            f" WHERE {self.table}.{self.key} = u.p_{self.param}"
        )
