"""Scaled out: API processes without a runner, and `companion projections run` as the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from tests.support.api import api_settings, new_character, sign_up
from tests.support.cli import CONSOLE_SCRIPT as COMPANION

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def worker(database_url: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "COMPANION_DATA_DIR": str(tmp_path), "COMPANION_LOG_FORMAT": "json"}
    # On PostgreSQL the worker is woken by the store's NOTIFY, so even a poll
    # interval far longer than the test must not delay it; SQLite has only polling.
    postgres = database_url.startswith("postgresql")
    env["COMPANION_PROJECTION_POLL_INTERVAL"] = "600" if postgres else "0.05"
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [str(COMPANION), "--database-url", database_url, "projections", "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # The API processes wait for the worker only as long as read-your-writes allows:
    # they start once it follows the log (its start-up takes seconds on a loaded machine).
    deadline = time.monotonic() + 120
    while b"projections.running" not in (tmp_path / "worker.log").read_bytes():
        assert process.poll() is None, (tmp_path / "worker.log").read_text()
        assert time.monotonic() < deadline, "the worker did not start following the log"
        time.sleep(0.05)
    yield process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0, (tmp_path / "worker.log").read_text()


def test_two_api_processes_read_their_writes_through_a_separate_worker(
    database_url: str, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    apis = [
        bootstrap(api_settings(tmp_path, database_url=database_url, embedded_projections=False))
        for _ in range(2)
    ]
    clients: list[TestClient[Any]] = [TestClient(create_app(api)) for api in apis]
    with clients[0] as first, clients[1] as second:
        user = sign_up(first)
        character = new_character(first, user)
        # The other process sees the character at once: the first waited for the worker.
        assert second.get(f"/api/v1/characters/{character}", headers=user).status_code == 200
        path = f"/api/v1/characters/{character}/messages"
        for n, (writer, reader) in enumerate([(first, second), (second, first)] * 3):
            turn = writer.post(path, headers=user, json={"text": f"turn {n}"})
            assert turn.status_code == 200
            newest = reader.get(path, headers=user, params={"limit": 1}).json()["messages"]
            assert newest[0]["message_id"] == turn.json()["reply"]["message_id"]
        for api in apis:
            assert not api.runner.running  # no API process ran projections itself
