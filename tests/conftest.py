"""Fixtures for tests that need the real PostgreSQL and Redis servers.

Start the servers with `make services`. Where they live comes from:

- COMPANION_TEST_POSTGRES_URL: an admin DSN, allowed to create and drop
  databases (default postgresql://postgres@127.0.0.1:5432/postgres);
- COMPANION_TEST_REDIS_URL: a Redis database that the tests may flush
  (default redis://127.0.0.1:6379/15).

An unreachable server skips the tests that need it, except in CI (CI=true),
where it fails them: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from psycopg import sql

# Before any helper is imported: their asserts are rewritten like the tests' own.
pytest.register_assert_rewrite("tests.support")

from tests.support.services import require_service  # noqa: E402

# pytest-xdist's workers are given COLUMNS=80; the CLI's tests choose their own width.
os.environ.pop("COLUMNS", None)

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def worker_redis_url(url: str) -> str:
    """`url`, on a Redis database of this test worker's own when tests run in parallel.

    Each worker flushes its database around a test; worker n of pytest-xdist
    takes the database n below the given one, so workers never flush each
    other's keys.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or "0")
    return urlunsplit(parts._replace(path=f"/{(base - int(worker[2:])) % 16}"))


def database_url(url: str, dbname: str) -> str:
    """`url` pointing at database `dbname`, with the same host, port, user and options."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("COMPANION_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    error: psycopg.OperationalError | None = None
    try:
        with psycopg.connect(url, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        error = exc
    if error is not None:
        # Reported outside the except block so that the report is just the message.
        require_service("PostgreSQL", error)
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A brand-new, empty database for this test only, dropped afterwards."""
    name = f"companion_test_{uuid.uuid4().hex[:12]}"
    # template0 never has connections, so concurrent CREATE DATABASEs cannot
    # fail on "source database is being accessed by other users".
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield database_url(postgres_admin_url, name)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis database, flushed before and after the test."""
    url = worker_redis_url(os.environ.get("COMPANION_TEST_REDIS_URL", DEFAULT_REDIS_URL))
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    error: redis.RedisError | None = None
    try:
        client.ping()
    except redis.RedisError as exc:
        error = exc
    if error is not None:
        client.close()
        require_service("Redis", error)
    try:
        client.flushdb()
        yield url
        client.flushdb()
    finally:
        client.close()
