"""Reading the read models from a replica (COMPANION_READ_DATABASE_URL) without losing
read-your-writes.

The replica here is a second database that the test keeps in step with the primary
by copying the read models' rows and tracking positions across, in one transaction,
when it chooses: so the test decides how far behind the replica is when a read
arrives, as a streaming replica's replay lag would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from eventsourcing.persistence import InternalError
from litestar.testing import TestClient
from psycopg import sql

from companion.app.api.app import create_app
from companion.app.api.reads import replica_check
from companion.app.bootstrap import Companion, ReadModels, bootstrap, view_store
from companion.app.persistence import store_for
from companion.app.settings import SettingsError
from projections.postgres_views import ReadOnlyViews
from projections.store import TRACKING_TABLE, ViewCursor, ViewStore
from tests.support.api import PERSONA, api_settings, new_character, sign_up

pytestmark = pytest.mark.postgres

POSITION = "X-Consistency-Position"


@pytest.fixture
def replica_url(postgres_admin_url: str, postgres_url: str) -> Iterator[str]:
    """A second database holding the read models' tables, empty, as a new replica's."""
    name = postgres_url.rsplit("/", 1)[1] + "_replica"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(postgres_admin_url)._replace(path=f"/{name}"))
    try:
        views = view_store(store_for(api_settings(Path("."), database_url=url)))
        for model in ReadModels().all():
            views.create_tables(model.ddl())
        views.close()
        yield url
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def copy_across(primary_url: str, replica_url: str) -> None:
    """The replica catches up: every read model's rows and positions, from one snapshot of
    the primary, replace the replica's in one transaction (as its replay commits)."""
    tables = [TRACKING_TABLE, *(table for model in ReadModels().all() for table in model.tables)]
    with (
        psycopg.connect(primary_url) as source,
        psycopg.connect(replica_url) as target,
    ):
        source.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        target.execute(
            sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
        )
        for table in tables:
            statement = sql.SQL("COPY {} {} (FORMAT BINARY)")
            with source.cursor().copy(
                statement.format(sql.Identifier(table), sql.SQL("TO STDOUT"))
            ) as out:
                data = b"".join(bytes(block) for block in out)
            with target.cursor().copy(
                statement.format(sql.Identifier(table), sql.SQL("FROM STDIN"))
            ) as into:
                into.write(data)


class LaggingReplica:
    """The replica's view store as the test lets it lag behind the primary.

    Following, the replica catches up before every read: no lag. Held back, it stays
    as it is, but for catching up at the poll of its positions numbered `catch_up_at`.
    """

    def __init__(self, views: ViewStore, catch_up: Callable[[], None]) -> None:
        self.views, self.catch_up = views, catch_up
        self.following = True
        self.polls = 0
        self.catch_up_at: int | None = None
        self.polled = threading.Event()

    def hold_back(self, *, polls: int | None) -> None:
        """Stop following; catch up at the `polls`-th poll from now (None: never)."""
        self.following = False
        self.catch_up_at = None if polls is None else self.polls + polls

    @contextmanager
    def read(self) -> Iterator[ViewCursor]:
        if self.following:
            self.catch_up()
        with self.views.read() as cursor:
            yield cursor

    def positions_in(self, cursor: ViewCursor, keys: Sequence[str]) -> Mapping[str, int]:
        self.polls += 1
        self.polled.set()
        if self.following or self.polls == self.catch_up_at:
            self.catch_up()
        return self.views.positions_in(cursor, keys)

    def close(self) -> None:
        self.views.close()


@pytest.fixture
def companion(postgres_url: str, replica_url: str, tmp_path: Path) -> Companion:
    settings = api_settings(
        tmp_path,
        database_url=postgres_url,
        read_database_url=replica_url,
        read_your_writes_timeout=5.0,
    )
    companion = bootstrap(settings)
    assert companion.read_views is not None
    lagging = LaggingReplica(companion.read_views, lambda: copy_across(postgres_url, replica_url))
    companion.read_views = cast(ViewStore, lagging)
    return companion


def lagging(companion: Companion) -> LaggingReplica:
    return cast(LaggingReplica, companion.read_views)


def test_a_write_answers_once_the_replica_shows_it(companion: Companion) -> None:
    replica = lagging(companion)
    with TestClient(create_app(companion)) as client:
        user = sign_up(client)
        character = new_character(client, user)
        path = f"/api/v1/characters/{character}/messages"
        for turn in range(3):
            replica.hold_back(polls=3)
            sent = client.post(path, headers=user, json={"text": f"turn {turn}"})
            assert sent.status_code == 200
            assert sent.headers["X-Consistency"] == "applied"
            # It found the replica behind twice before it caught up at the third poll.
            assert replica.polls == replica.catch_up_at
            newest = client.get(path, headers=user, params={"limit": 1}).json()["messages"]
            assert newest[0]["message_id"] == sent.json()["reply"]["message_id"]


def test_a_read_after_a_position_waits_for_the_replica(companion: Companion) -> None:
    replica = lagging(companion)
    with TestClient(create_app(companion)) as client:
        user = sign_up(client)
        replica.hold_back(polls=None)
        created = client.post("/api/v1/characters", headers=user, json={**PERSONA, "name": "Mio"})
        assert created.status_code == 201
        # Applied on the primary, never on the replica: the write says it is pending...
        assert created.headers["X-Consistency"] == "pending"
        path = f"/api/v1/characters/{created.json()['character_id']}"
        # ...and a plain read, served by the replica, does not show it yet.
        assert client.get(path, headers=user).status_code == 404
        position = str(companion.runner.head())
        replica.polled.clear()
        answers: list[Any] = []
        reading = threading.Thread(
            target=lambda: answers.append(client.get(path, headers={**user, POSITION: position}))
        )
        reading.start()
        assert replica.polled.wait(10), "the read never asked the replica"
        # The replica shows the character only from now: a read that did not wait
        # for it would have answered 404, as the plain read above.
        replica.catch_up()
        reading.join(20)
        assert answers[0].status_code == 200
        assert answers[0].headers["X-Consistency"] == "applied"
        assert answers[0].json()["name"] == "Mio"


def test_the_replica_is_only_read(companion: Companion, replica_url: str) -> None:
    with TestClient(create_app(companion)) as client:
        user = sign_up(client)
        new_character(client, user)
        replica = lagging(companion).views
        with pytest.raises(ReadOnlyViews):
            replica.create_tables(["CREATE TABLE anything (id int)"])
        with pytest.raises(InternalError, match="read-only transaction"), replica.read() as cursor:
            cursor.execute(f"DELETE FROM {TRACKING_TABLE}")
    # Events and their positions were never written there: only the copies arrived.
    with psycopg.connect(replica_url) as conn:
        found = conn.execute("SELECT to_regclass('companion_events') AS t").fetchone()
        assert found == (None,)
        copied = conn.execute(f"SELECT count(*) FROM {TRACKING_TABLE}").fetchone()
        assert copied is not None
        assert copied[0] > 0


def test_readiness_names_a_replica_that_cannot_be_read(
    postgres_url: str, replica_url: str, tmp_path: Path
) -> None:
    up = bootstrap(api_settings(tmp_path, database_url=postgres_url, read_database_url=replica_url))
    down = bootstrap(
        api_settings(
            tmp_path,
            database_url=postgres_url,
            read_database_url="postgresql://postgres@127.0.0.1:1/nowhere",
        )
    )
    try:
        assert replica_check(up) == "ok"
        assert str(replica_check(down)).startswith("unavailable: ")
    finally:
        up.close()
        down.close()


def test_a_replica_needs_postgresql(tmp_path: Path, replica_url: str) -> None:
    with pytest.raises(SettingsError, match="COMPANION_READ_DATABASE_URL"):
        bootstrap(
            api_settings(
                tmp_path,
                database_url=f"sqlite:///{tmp_path}/events.db",
                read_database_url=replica_url,
            )
        )
