"""Runs of deferred statements sent to PostgreSQL as arrays write what row-by-row writes would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from projections import arrays
from projections.arrays import ArrayInsert, ArrayStatement, ArrayUpdate
from tests.support.companions import Companions

pytestmark = pytest.mark.postgres

TABLE = "array_statements_test"
INSERT = (
    f"INSERT INTO {TABLE} (id, counter, label, tags, flag)"
    " VALUES (:id, :counter, :label, :tags, FALSE)"
)
MOVE = f"UPDATE {TABLE} SET counter = counter + :by, label = :label WHERE id = :id"


def test_the_statements_the_read_models_defer_are_read_as_arrays() -> None:
    assert isinstance(ArrayStatement.of(INSERT), ArrayInsert)
    assert isinstance(ArrayStatement.of(MOVE), ArrayUpdate)
    for sql in (
        f"UPDATE {TABLE} SET counter = :by * 2 WHERE id = :id",
        f"UPDATE {TABLE} SET label = :label WHERE id = :id AND counter = :counter",
        f"INSERT INTO {TABLE} (id, counter) VALUES (:id, :counter + 1)",
        f"INSERT INTO {TABLE} (id, counter) VALUES (:id, :counter) ON CONFLICT DO NOTHING",
        f"UPDATE {TABLE} SET label = (SELECT :label) WHERE id = :id",
    ):
        assert ArrayStatement.of(sql) is None, sql


def rows(companions: Companions, batches: list[list[tuple[str, dict[str, Any]]]]) -> Any:
    companion = companions()
    store = companion.views
    store.create_tables(
        [
            f"CREATE TABLE {TABLE} (id {{bigint}} PRIMARY KEY, counter {{bigint}} NOT NULL,"
            " label TEXT, tags {json} NOT NULL, flag {bool} NOT NULL)"
        ]
    )
    for batch in batches:
        with store.write("arrays") as cursor:
            for sql, params in batch:
                cursor.defer(sql, params)
            cursor.flush()
    with store.read() as cursor:
        return cursor.query(f"SELECT * FROM {TABLE} ORDER BY id")


def test_inserts_and_updates_of_a_run_land_as_one_by_one(postgres_companions: Companions) -> None:
    inserts = [
        (INSERT, {"id": n, "counter": n, "label": None, "tags": {"n": [n]}}) for n in range(5)
    ]
    updates = [(MOVE, {"id": n, "by": 10, "label": f"moved {n}"}) for n in (4, 0, 2)]
    # The same row twice in a run: the second must build on the first.
    twice = [
        (MOVE, {"id": 1, "by": 1, "label": "once"}),
        (MOVE, {"id": 1, "by": 1, "label": "twice"}),
    ]

    result = rows(postgres_companions, [inserts, updates, twice])

    assert [(r["id"], r["counter"], r["label"], r["tags"], r["flag"]) for r in result] == [
        (0, 10, "moved 0", {"n": [0]}, False),
        (1, 3, "twice", {"n": [1]}, False),
        (2, 12, "moved 2", {"n": [2]}, False),
        (3, 3, None, {"n": [3]}, False),
        (4, 14, "moved 4", {"n": [4]}, False),
    ]


COPIED = "copied_inserts_test"
COPY_INSERT = (
    f"INSERT INTO {COPIED} (id, n, at, label, tags, seen, seven, flag)"
    " VALUES (:id, :n, :at, :label, :tags, FALSE, 7, :flag)"
)
NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def copy_rows(count: int, **changes: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid4(),
            "n": i,
            "at": NOW + timedelta(seconds=i),
            "label": None if i % 3 == 0 else f"{i} ✨ \\ \t 'x'",
            "tags": [None, {"i": i, "s": "é"}, [i, "a"]][i % 3],
            "flag": i % 2 == 0,
            **changes,
        }
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("changes", "copied"),
    [
        ({}, True),
        ({"at": datetime(2026, 1, 2, 3, 4, 5)}, False),  # naive: the session's zone decides
        ({"id": "6f1c54d3-0d5b-4d52-9a3e-2a3f2e6b3d11"}, False),  # text for a uuid
        ({"n": "5"}, False),  # text the server reads as a number
    ],
    ids=["fitting", "naive-datetime", "uuid-as-text", "number-as-text"],
)
def test_an_insert_run_by_copy_lands_as_one_by_one(
    postgres_companions: Companions,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, Any],
    copied: bool,
) -> None:
    store = postgres_companions().views
    store.create_tables(
        [
            f"CREATE TABLE {COPIED} (id {{uuid}}, n {{bigint}}, at {{timestamp}} NOT NULL,"
            " label TEXT, tags {json}, seen {bool} NOT NULL, seven {bigint} NOT NULL,"
            " flag {bool} NOT NULL DEFAULT TRUE, extra TEXT DEFAULT 'default')"
        ]
    )
    runs: list[Any] = []
    real_run = arrays._Copy.run
    monkeypatch.setattr(
        arrays._Copy,
        "run",
        lambda self, cursor, rows: runs.append(rows) or real_run(self, cursor, rows),
    )
    params = copy_rows(40, **changes)

    def written(one_by_one: bool) -> list[dict[str, Any]]:
        with store.write("copies") as cursor:
            cursor.execute(f"TRUNCATE {COPIED}")
            for row in params:
                (cursor.execute if one_by_one else cursor.defer)(COPY_INSERT, row)
            cursor.flush()
        with store.read() as cursor:
            return cursor.query(f"SELECT * FROM {COPIED} ORDER BY n, id")

    one_by_one = written(True)
    assert not runs
    assert written(False) == one_by_one
    assert len(one_by_one) == 40
    assert bool(runs) == copied


def test_an_insert_run_formatted_ahead_for_copy_lands_as_one_by_one(
    postgres_companions: Companions,
) -> None:
    # A catch-up formats a batch's COPY data in the thread that handled it (`copied`),
    # once a COPY of the statement has been sent on some connection.
    store = postgres_companions().views
    store.create_tables(
        [
            f"CREATE TABLE {COPIED} (id {{uuid}}, n {{bigint}}, at {{timestamp}} NOT NULL,"
            " label TEXT, tags {json}, seen {bool} NOT NULL, seven {bigint} NOT NULL,"
            " flag {bool} NOT NULL DEFAULT TRUE, extra TEXT DEFAULT 'default')"
        ]
    )
    params = copy_rows(40)
    other = (MOVE, {"id": 1, "by": 1, "label": None})

    def written(statements: list[tuple[str, Any]], extend: bool) -> list[dict[str, Any]]:
        with store.write("copies") as cursor:
            cursor.execute(f"TRUNCATE {COPIED}")
            if extend:
                cursor.extend(statements)
            else:
                for sql, row in statements:
                    cursor.execute(sql, row)
            cursor.flush()
        with store.read() as cursor:
            return cursor.query(f"SELECT * FROM {COPIED} ORDER BY n, id")

    plain = [(COPY_INSERT, row) for row in params]
    one_by_one = written(plain, extend=False)
    assert written(plain, extend=True) == one_by_one  # by COPY, formatted as it is sent
    ahead = arrays.copied([*plain[:20], other])
    assert [type(params) for _, params in ahead] == [arrays.CopiedRun, dict]

    assert written(arrays.copied(plain), extend=True) == one_by_one
