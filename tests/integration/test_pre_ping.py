"""Pooled connections the server closed are found before they are lent: no turn fails for them."""

from __future__ import annotations

import time
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
import pytest

from companion.app.bootstrap import Companion
from companion.domain.characters import Persona
from tests.support.companions import Companions
from tests.support.personas import HANA

pytestmark = pytest.mark.postgres


def _close_every_connection(admin_url: str, database_url: str) -> None:
    """End the database's server processes, as a restart would, and wait until they are gone."""
    dbname = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,)
        ).fetchall()
        assert killed
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)
        ).fetchone() != (0,):
            time.sleep(0.01)


def _pair(app: Companion) -> tuple[UUID, UUID]:
    user_id = app.accounts.register(
        email="p@example.com", password="0123456789ab", name="P", nickname="P"
    )
    character_id, _ = app.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return user_id, character_id


def test_connections_the_server_closed_are_replaced_before_they_are_lent(
    postgres_companions: Companions, postgres_admin_url: str, postgres_url: str
) -> None:
    # One pooled connection: the pool pauses a second after each one that fails its check.
    app = postgres_companions(postgres_pool_size=1)
    user_id, character_id = _pair(app)
    for _ in range(3):
        app.chat.send_message(user_id=user_id, character_id=character_id, text="before")
    _close_every_connection(postgres_admin_url, postgres_url)
    # The pooled connection is dead now; no turn fails for it.
    for n in range(3):
        turn = app.chat.send_message(user_id=user_id, character_id=character_id, text=f"after {n}")
        assert turn.reply_text
