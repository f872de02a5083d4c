"""An API over an in-memory store, and a user with a character on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from tests.support.api import api_settings, new_character, sign_up


@pytest.fixture
def companion(tmp_path: Path) -> Iterator[Companion]:
    companion = bootstrap(api_settings(tmp_path))
    yield companion
    companion.close()


@pytest.fixture
def client(companion: Companion) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(companion)) as client:
        yield client


@pytest.fixture
def user(client: TestClient[Any]) -> dict[str, str]:
    return sign_up(client)


@pytest.fixture
def character(client: TestClient[Any], user: dict[str, str]) -> str:
    return new_character(client, user)
