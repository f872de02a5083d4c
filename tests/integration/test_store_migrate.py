"""A store written by the library's recorder is refused until migrated, and migrated whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from companion.adapters.pg_schema import StoreLayoutOutdated
from companion.adapters.postgres_store import PostgresStoreFactory
from companion.domain.characters import Persona
from tests.support.cli import cli, ok, open_companion
from tests.support.personas import PERSONA_INPUT as PERSONA

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("cli_environment")]

EVENTS = (
    "SELECT notification_id, originator_id, originator_version, topic, state"
    " FROM companion_events ORDER BY notification_id"
)
POSITIONS = "SELECT * FROM projection_tracking ORDER BY 1"


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def write_with_the_librarys_recorder(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a store of the previous version holds: events, a hole, read models and positions."""
    with monkeypatch.context() as patched:
        patched.setattr(
            PostgresStoreFactory, "application_recorder_class", PostgresApplicationRecorder
        )
        companion = open_companion(url, tmp_path)
        try:
            app = companion.application
            assert type(app.recorder) is PostgresApplicationRecorder
            user_id = companion.accounts.register(
                email="old@example.com", password="correct horse battery", name="O", nickname="O"
            )
            character_id, _ = companion.characters.create_character(
                user_id=user_id, persona=Persona.parse(**PERSONA)
            )
            companion.chat.send_message(user_id=user_id, character_id=character_id, text="before")
            # A rolled-back insert leaves a hole in the library's sequence.
            first = app.recorder.select_notifications(None, 1)[0]
            duplicate = StoredEvent(
                first.originator_id, first.originator_version, first.topic, first.state
            )
            with pytest.raises(IntegrityError):
                app.recorder.insert_events([duplicate])
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text="after the hole"
            )
            companion.runner.run_once()
        finally:
            companion.close()


def test_a_store_of_the_librarys_recorder_is_migrated_keeping_events_order_and_positions(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_with_the_librarys_recorder(postgres_url, tmp_path, monkeypatch)
    events, positions = rows(postgres_url, EVENTS), rows(postgres_url, POSITIONS)
    ids = [row[0] for row in events]
    assert ids != list(range(1, len(ids) + 1)), "the old store should have a hole"
    assert [row[1] for row in positions if "@" in row[0]] == [ids[-1]] * (len(positions) - 1)

    # Refused, in one line that says what to do, and nothing written.
    with pytest.raises(StoreLayoutOutdated, match="run `companion store migrate`"):
        open_companion(postgres_url, tmp_path)
    refused = cli(postgres_url, "events", "count")
    assert refused.exit_code == 1
    assert "companion store migrate" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert rows(postgres_url, EVENTS) == events

    assert "migrated" in ok(postgres_url, "store", "migrate").stdout
    assert rows(postgres_url, EVENTS) == events
    assert rows(postgres_url, POSITIONS) == positions

    companion = open_companion(postgres_url, tmp_path)
    try:
        assert companion.runner.behind() == 0  # every projection is where it was
        user_id = companion.accounts.register(
            email="new@example.com", password="correct horse battery", name="N", nickname="N"
        )
        assert user_id is not None
        after = rows(postgres_url, EVENTS)
        assert after[: len(events)] == events
        assert min(row[0] for row in after[len(events) :]) == ids[-1] + 1
        assert companion.runner.run_once() > 0
    finally:
        companion.close()
    assert "already" in ok(postgres_url, "store", "migrate").stdout


def test_a_process_of_the_older_version_cannot_append_to_a_migrated_store(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_with_the_librarys_recorder(postgres_url, tmp_path, monkeypatch)
    ok(postgres_url, "store", "migrate")
    companion = open_companion(postgres_url, tmp_path)
    try:
        datastore = companion.application.recorder.datastore  # type: ignore[attr-defined]
        old = PostgresApplicationRecorder(datastore, events_table_name="companion_events")
        with pytest.raises(IntegrityError, match="notification_id"):
            old.insert_events([StoredEvent(uuid4(), 1, "topic", b"{}")])
    finally:
        companion.close()
