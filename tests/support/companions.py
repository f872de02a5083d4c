"""Whole companions on one backend, each on an empty store of its own.

The factory fixtures of tests/integration/conftest.py hand out a `Companions`
for memory, SQLite or PostgreSQL. Every call builds a whole companion
(application, read models, runner) with the real adapters: the offline persona
responder and Argon2 with cheap parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

from companion.app.bootstrap import Companion, bootstrap
from companion.app.settings import Settings
from tests.support.settings import cheap_settings

TEST_SETTINGS: dict[str, Any] = {
    "env": "test",
    "cipher_key": None,
    "compress_events": False,
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
        return cheap_settings(_env_file=None, **values)

    def __call__(self, **overrides: Any) -> Companion:
        companion = bootstrap(self.settings(**overrides))
        self._built.append(companion)
        return companion

    def close(self) -> None:
        for companion in reversed(self._built):
            companion.close()
