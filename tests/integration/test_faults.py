"""Faults degrade gracefully and lose no acknowledged event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.characters import Persona
from tests.api.conftest import PERSONA, api_settings, new_character, sign_up

pytestmark = pytest.mark.postgres


def kill_connections(admin_url: str, database_url: str) -> int:
    """Terminate every server process of the database, as a restart would."""
    dbname = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (dbname,),
        ).fetchall()
    return len(rows)


@pytest.fixture
def companion(tmp_path: Path, postgres_url: str) -> Iterator[Companion]:
    companion = bootstrap(api_settings(tmp_path, database_url=postgres_url))
    yield companion
    companion.close()


def test_lost_database_connections_lose_no_acknowledged_turn(
    companion: Companion, postgres_admin_url: str, postgres_url: str
) -> None:
    acknowledged: list[str] = []
    statuses: list[int] = []
    with TestClient(create_app(companion)) as client:
        user = sign_up(client)
        character = new_character(client, user)
        path = f"/api/v1/characters/{character}/messages"
        for n in range(6):
            if n % 3 == 0:
                assert kill_connections(postgres_admin_url, postgres_url) > 0
            response = client.post(path, headers=user, json={"text": f"turn {n}"})
            statuses.append(response.status_code)
            # Never a 500: either the turn went through or the client is told to retry.
            assert response.status_code in (200, 503), response.text
            if response.status_code == 200:
                acknowledged.append(response.json()["message_id"])
        assert acknowledged, statuses

        companion.runner.run_once()
        page = client.get(path, headers=user, params={"limit": 100}).json()
    stored = {m["message_id"] for m in page["messages"] if m["sender"] == "user"}
    assert set(acknowledged) <= stored


def test_the_runner_survives_lost_connections(
    companion: Companion, postgres_admin_url: str, postgres_url: str
) -> None:
    application = companion.application
    user_id = application.register(
        email="fault@example.com", password="0123456789ab", name="F", nickname="F"
    )
    persona: dict[str, Any] = dict(PERSONA)
    character_id, _ = application.create_character(
        user_id=user_id, persona=Persona.parse(**persona)
    )
    companion.runner.start()
    for n in range(2):
        kill_connections(postgres_admin_url, postgres_url)
        turn = None
        for _attempt in range(5):  # what a client does after a 503
            try:
                turn = application.send_message(
                    user_id=user_id, character_id=character_id, text=f"m{n}"
                )
                break
            except OperationalError:
                continue
        assert turn is not None
        assert companion.runner.wait_for(turn.position, ["conversations"], timeout=30)
    assert companion.runner.lag("conversations") == 0
