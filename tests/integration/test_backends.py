"""The backend contract on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from companion.app.bootstrap import Companion
from projections.conversations import ConversationsProjection
from tests.integration.backend_contract import BackendContract
from tests.support.companions import Companions


class TestMemoryBackend(BackendContract):
    @pytest.fixture
    def companions(self, memory_companions: Companions) -> Companions:
        return memory_companions

    def stored_states(self, companion: Companion) -> list[bytes]:
        # The in-memory recorder keeps the stored events themselves: their
        # state is the bytes that a database would hold.
        notifications = companion.application.recorder.select_notifications(start=1, limit=10_000)
        return [n.state for n in notifications]


class TestSQLiteBackend(BackendContract):
    @pytest.fixture
    def companions(self, sqlite_companions: Companions) -> Companions:
        return sqlite_companions

    def stored_states(self, companion: Companion) -> list[bytes]:
        with sqlite3.connect(companion.store.event_env["SQLITE_DBNAME"]) as connection:
            rows = connection.execute("SELECT state FROM stored_events").fetchall()
        return [bytes(state) for (state,) in rows]


@pytest.mark.postgres
class TestPostgresBackend(BackendContract):
    @pytest.fixture
    def companions(self, postgres_companions: Companions) -> Companions:
        return postgres_companions

    def stored_states(self, companion: Companion) -> list[bytes]:
        # The library names the events table after the application.
        with psycopg.connect(companion.settings.database_url) as connection:
            rows = connection.execute("SELECT state FROM companion_events").fetchall()
        return [bytes(state) for (state,) in rows]


def test_a_new_version_of_a_projection_keeps_the_handlers_it_inherits() -> None:
    class ConversationsV2(ConversationsProjection):
        version = 2

    assert ConversationsV2().key == "conversations@v2"
    assert ConversationsV2().topics == ConversationsProjection().topics
