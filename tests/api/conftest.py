"""An API over an in-memory store, and small helpers to act as a user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.app.settings import Settings
from tests.personas import HANA as PERSONA

PASSWORD = "correct horse battery"


def api_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "memory://",
        "data_dir": tmp_path,
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "log_format": "console",
        "catalogue_defaults": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def companion(tmp_path: Path) -> Iterator[Companion]:
    companion = bootstrap(api_settings(tmp_path))
    yield companion
    companion.close()


@pytest.fixture
def client(companion: Companion) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(companion)) as client:
        yield client


def sign_up(client: TestClient[Any], email: str | None = None) -> dict[str, str]:
    """Register a new user and return the headers that act as them."""
    email = email or f"{uuid4().hex[:10]}@example.com"
    registered = client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Aiko", "nickname": "Ai"},
    )
    assert registered.status_code == 201, registered.text
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def new_character(client: TestClient[Any], headers: dict[str, str], **changes: Any) -> str:
    created = client.post("/api/v1/characters", headers=headers, json={**PERSONA, **changes})
    assert created.status_code == 201, created.text
    character_id: str = created.json()["character_id"]
    return character_id


@pytest.fixture
def user(client: TestClient[Any]) -> dict[str, str]:
    return sign_up(client)


@pytest.fixture
def character(client: TestClient[Any], user: dict[str, str]) -> str:
    return new_character(client, user)
