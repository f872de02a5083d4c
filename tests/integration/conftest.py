"""Companions built on each backend: memory, SQLite and PostgreSQL.

Each backend has a factory fixture. Every call of a factory builds a whole
companion (application, read models, runner) on its own empty store, with the
real adapters: the offline persona responder and Argon2 with cheap parameters.
Everything a factory built is closed at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from companion.app.bootstrap import Companion, bootstrap
from companion.app.settings import Settings

TEST_SETTINGS: dict[str, Any] = {
    "env": "test",
    "cipher_key": None,
    "compress_events": False,
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "projection_poll_interval": 0.05,
    "catalogue_defaults": False,
}


class Companions:
    """Builds companions on one backend, each on a store of its own."""

    def __init__(self, backend: str, new_database_url: Callable[[], str], tmp_path: Path) -> None:
        self.backend = backend
        self._new_database_url = new_database_url
        self._tmp_path = tmp_path
        self._numbers = count(1)
        self._built: list[Companion] = []

    def settings(self, **overrides: Any) -> Settings:
        """Settings for a new, empty store (the test's own .env and environment aside)."""
        data_dir = self._tmp_path / f"store-{next(self._numbers)}"
        data_dir.mkdir()
        values = {**TEST_SETTINGS, "data_dir": data_dir, **overrides}
        if "database_url" not in values:
            values["database_url"] = self._new_database_url().replace("{data_dir}", str(data_dir))
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def __call__(self, **overrides: Any) -> Companion:
        companion = bootstrap(self.settings(**overrides))
        self._built.append(companion)
        return companion

    def close(self) -> None:
        for companion in reversed(self._built):
            companion.close()


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
