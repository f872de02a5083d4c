"""Acting as a user over the HTTP API: sign up, create a character; the settings of an API test."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

from litestar.testing import TestClient

from companion.app.settings import Settings
from tests.support.personas import HANA as PERSONA
from tests.support.settings import cheap_settings
from tests.support.users import PASSWORD

__all__ = ["PASSWORD", "PERSONA", "api_settings", "new_character", "sign_up"]


def api_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """An in-memory store under tmp_path, console logs, no default catalogue."""
    values: dict[str, Any] = {
        "database_url": "memory://",
        "data_dir": tmp_path,
        "log_format": "console",
        "catalogue_defaults": False,
    }
    values.update(overrides)
    return cheap_settings(**values)


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
    """Create a character (Hana, with any field changed); its id."""
    created = client.post("/api/v1/characters", headers=headers, json={**PERSONA, **changes})
    assert created.status_code == 201, created.text
    character_id: str = created.json()["character_id"]
    return character_id
