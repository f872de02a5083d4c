"""A write answered by the API is visible to the caller's next read, however slow the runner.

The runner here reads the event log through a gate that the test closes before
the write: it can apply nothing until a request is waiting for it. So the read
that follows the write finds it only because the write's answer waited for the
projection; nothing depends on how fast the runner happens to be.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest
from eventsourcing.persistence import ApplicationRecorder
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from projections.runner import ProjectionRunner
from tests.support.api import api_settings, new_character, sign_up


class GatedLog:
    """The application's recorder as the runner sees it: reads pass only while the gate is open."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self._recorder = recorder
        self.gate = threading.Event()
        self.gate.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)

    def select_notifications(self, *args: Any, **kwargs: Any) -> Any:
        self.gate.wait()
        return self._recorder.select_notifications(*args, **kwargs)


class HeldRunner:
    """Keeps the runner's gate shut until a request waits for a projection."""

    def __init__(self, runner: ProjectionRunner, log: GatedLog) -> None:
        self.runner = runner
        self.log = log
        self._done = threading.Event()
        self._opener: threading.Thread | None = None

    def hold(self) -> None:
        self.log.gate.clear()
        self._done.clear()
        self._opener = threading.Thread(target=self._open_when_a_request_waits, daemon=True)
        self._opener.start()

    def _open_when_a_request_waits(self) -> None:
        while not self._done.is_set():
            if self.runner.waiting > 0:
                self.log.gate.set()
                return
            self._done.wait(0.001)

    def release(self) -> None:
        self._done.set()
        self.log.gate.set()
        if self._opener is not None:
            self._opener.join()


@pytest.fixture
def slow_companion(tmp_path: Path) -> Iterator[tuple[Companion, HeldRunner]]:
    # A SQLite file, not the in-memory store: its readers are not blocked by the
    # runner's open transaction, so a read that misses the write says 404, not 503.
    companion = bootstrap(
        api_settings(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/events.db",
            read_your_writes_timeout=30.0,
        )
    )
    log = GatedLog(companion.application.recorder)
    runner = ProjectionRunner(
        cast(ApplicationRecorder, log),
        companion.application.mapper,
        companion.views,
        companion.read_models.all(),
        poll_interval=0.05,
    )
    companion.runner = runner
    companion.uow.on_saved = runner.notify
    held = HeldRunner(runner, log)
    yield companion, held
    held.release()
    companion.close()


def test_a_created_character_is_found_by_the_next_request(
    slow_companion: tuple[Companion, HeldRunner],
) -> None:
    companion, held = slow_companion
    with TestClient(create_app(companion, run_projections=True)) as client:
        user = sign_up(client)
        held.hold()
        try:
            character_id = new_character(client, user)
            found = client.get(f"/api/v1/characters/{character_id}", headers=user)
            listed = client.get("/api/v1/characters", headers=user)
        finally:
            held.release()
    assert found.status_code == 200, found.text
    assert found.json()["character_id"] == character_id
    assert [c["character_id"] for c in listed.json()["characters"]] == [character_id]


def test_a_chat_turn_is_in_the_next_page_of_messages(
    slow_companion: tuple[Companion, HeldRunner],
) -> None:
    companion, held = slow_companion
    with TestClient(create_app(companion, run_projections=True)) as client:
        user = sign_up(client)
        character_id = new_character(client, user)
        # The character itself must be readable whatever the turn's answer does.
        assert companion.runner.wait_for(companion.runner.head(), ["characters"], 30)
        path = f"/api/v1/characters/{character_id}/messages"
        held.hold()
        try:
            sent = client.post(path, headers=user, json={"text": "おはよう、今日は晴れだね"})
            page = client.get(path, headers=user)
        finally:
            held.release()
    assert sent.status_code == 200, sent.text
    turn = sent.json()
    assert page.status_code == 200, page.text
    messages = page.json()["messages"]
    assert [(m["message_id"], m["sender"]) for m in messages] == [
        (turn["reply"]["message_id"], "character"),
        (turn["message_id"], "user"),
    ]
    assert messages[0]["text"] == turn["reply"]["text"]


def test_a_read_that_names_a_position_waits_for_it_and_one_that_does_not_is_not_held(
    slow_companion: tuple[Companion, HeldRunner],
) -> None:
    """A turn made off REST (as the WebSocket makes it) gives the client its position."""
    companion, held = slow_companion
    with TestClient(create_app(companion, run_projections=True)) as client:
        user = sign_up(client)
        character_id = new_character(client, user)
        assert companion.runner.wait_for(companion.runner.head(), ["characters"], 30)
        path = f"/api/v1/characters/{character_id}/messages"
        user_id = client.get("/api/v1/me", headers=user).json()["user_id"]
        held.log.gate.clear()  # the runner applies nothing until a read waits
        try:
            turn = companion.chat.send_message(
                user_id=UUID(user_id), character_id=UUID(character_id), text="hello again"
            )
            assert turn.position is not None
            unheld = client.get(path, headers=user)
            held.hold()
            waited = client.get(
                path, headers={**user, "X-Consistency-Position": str(turn.position)}
            )
        finally:
            held.release()
    assert unheld.status_code == 200, unheld.text
    assert unheld.json()["messages"] == []
    assert "X-Consistency" not in unheld.headers
    assert waited.status_code == 200, waited.text
    assert waited.headers["X-Consistency"] == "applied"
    assert [m["message_id"] for m in waited.json()["messages"]] == [
        str(turn.reply_message_id),
        str(turn.user_message_id),
    ]


@pytest.mark.parametrize("value", ["soon", "-1", "1.5", "１２", "99999999999999999999"])
def test_a_position_that_is_not_a_whole_number_is_422(
    slow_companion: tuple[Companion, HeldRunner], value: str
) -> None:
    companion, _ = slow_companion
    with TestClient(create_app(companion, run_projections=True)) as client:
        user = sign_up(client)
        answer = client.get(
            "/api/v1/characters", headers={**user, "X-Consistency-Position": value.encode()}
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["extra"]["errors"][0]["field"] == "X-Consistency-Position"


def test_a_position_ahead_of_the_log_is_409_at_once(
    slow_companion: tuple[Companion, HeldRunner],
) -> None:
    companion, _ = slow_companion
    with TestClient(create_app(companion, run_projections=True)) as client:
        user = sign_up(client)
        ahead = companion.runner.head() + 1
        answer = client.get(
            "/api/v1/characters", headers={**user, "X-Consistency-Position": str(ahead)}
        )
    assert answer.status_code == 409, answer.text
    assert answer.json()["extra"]["code"] == "position_ahead"
