"""The real `companion serve` process, spoken to over HTTP, stopped and started again."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import PASSWORD, PERSONA
from tests.support.cli import CONSOLE_SCRIPT as COMPANION
from tests.support.server import Server

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.stop()


def test_a_served_api_keeps_every_turn_across_a_restart(server: Server, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as http:
        assert http.get("/ready").json()["status"] == "ready"
        assert http.get("/schema/openapi.json").json()["info"]["title"] == "companion"
        body = {"email": "e2e@example.com", "password": PASSWORD, "name": "E", "nickname": "E"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201
        login = {"email": "e2e@example.com", "password": PASSWORD}
        token = http.post("/api/v1/auth/token", json=login).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        character = http.post("/api/v1/characters", headers=headers, json=PERSONA).json()
        path = f"/api/v1/characters/{character['character_id']}/messages"
        turn = http.post(path, headers=headers, json={"text": "Good morning!"})
        assert turn.status_code == 200
        assert len(http.get(path, headers=headers).json()["messages"]) == 2

    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.stop() in (0, -signal.SIGTERM)
    # The embedded default keeps everything under the data folder.
    assert (tmp_path / "companion.db").exists()
    assert (tmp_path / "companion-projections.db").exists()
    server.start()

    with httpx.Client(base_url=server.base, timeout=10) as http:
        # The signing secret was kept under the data folder, so the token still works.
        page = http.get(path, headers=headers).json()
        assert [m["text"] for m in page["messages"]][1] == "Good morning!"
        assert page["messages"][0]["message_id"] == turn.json()["reply"]["message_id"]
    log = server.log.read_text()
    assert "Good morning" not in log  # message text never reaches the logs
    assert PASSWORD not in log


def test_a_server_without_the_stores_key_refuses_to_start_and_writes_nothing(
    tmp_path: Path,
) -> None:
    keyed = Server(tmp_path)
    keyed.env["COMPANION_CIPHER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    keyed.start()
    with httpx.Client(base_url=keyed.base, timeout=10) as http:
        body = {"email": "kept@example.com", "password": PASSWORD, "name": "K", "nickname": "K"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201
    keyed.stop()
    events = tmp_path / "companion.db"
    before = events.read_bytes()

    for cipher_key in (None, base64.b64encode(os.urandom(32)).decode()):
        env = {k: v for k, v in keyed.env.items() if k != "COMPANION_CIPHER_KEY"}
        if cipher_key is not None:
            env["COMPANION_CIPHER_KEY"] = cipher_key
        finished = subprocess.run(
            [str(COMPANION), "serve", "--host", "127.0.0.1", "--port", str(keyed.port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert finished.returncode != 0
        last = finished.stderr.strip().splitlines()[-1]
        assert "COMPANION_CIPHER_KEY" in last, finished.stderr
        assert "Traceback" not in finished.stderr
    assert events.read_bytes() == before  # not one byte written by the refused processes
