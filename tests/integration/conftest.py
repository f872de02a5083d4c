"""Fixtures of the integration tests: a factory of companions on each backend.

Every call of a factory (see tests/support/companions.py) builds a whole
companion on its own empty store; everything a factory built is closed at
teardown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from tests.support.companions import Companions
from tests.support.settings import CHEAP_ENVIRONMENT


@pytest.fixture
def memory_companions(tmp_path: Path) -> Iterator[Companions]:
    companions = Companions("memory", lambda: "memory://", tmp_path)
    yield companions
    companions.close()


@pytest.fixture
def sqlite_companions(tmp_path: Path) -> Iterator[Companions]:
    companions = Companions("sqlite", lambda: "sqlite:///{data_dir}/events.db", tmp_path)
    yield companions
    companions.close()


@pytest.fixture
def postgres_companions(
    postgres_url: str, postgres_admin_url: str, tmp_path: Path
) -> Iterator[Companions]:
    """The first companion gets the test's database; each further one a database of its own."""
    urls = iter([postgres_url])
    created: list[str] = []

    def new_database_url() -> str:
        url = next(urls, None)
        if url is not None:
            return url
        name = f"{urlsplit(postgres_url).path.lstrip('/')}_{len(created) + 2}"
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        created.append(name)
        return urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))

    companions = Companions("postgres", new_database_url, tmp_path)
    try:
        yield companions
    finally:
        companions.close()
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            for name in created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Cheap passwords, data under tmp_path, and no .env or COMPANION_ settings from outside.

    The tests of the command line ask for it: `pytest.mark.usefixtures("cli_environment")`.
    """
    for name in list(os.environ):
        if name.startswith("COMPANION_") and not name.startswith("COMPANION_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPANION_ENV", "test")
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path))
    for name, value in CHEAP_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COMPANION_CATALOGUE_DEFAULTS", "false")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite store in the test's own folder."""
    return f"sqlite:///{tmp_path}/c.db"
