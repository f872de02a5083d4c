"""Acting as a user against a real `companion serve` process: HTTP turns, sockets, logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.support.api import PASSWORD, PERSONA
from tests.support.server import Server
from tests.support.settings import CHEAP_ENVIRONMENT

TIMEOUT = 20.0
ROOMY_MESSAGE_LIMITS = {
    "COMPANION_MESSAGES_PER_MINUTE": "100000",
    "COMPANION_MESSAGES_PER_DAY": "1000000",
}
"""Roomy enough that no load meets the plan's limits by accident."""


def api_server(data_dir: Path, name: str, **env: str) -> Server:
    """A `companion serve` process (not yet started) logging to `<name>.log` under data_dir."""
    server = Server(data_dir)
    server.log = data_dir / f"{name}.log"
    server.env.update({**CHEAP_ENVIRONMENT, **ROOMY_MESSAGE_LIMITS, **env})
    return server


@dataclass(frozen=True)
class Member:
    """A signed-up user with one character."""

    token: str
    character_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def messages_path(self) -> str:
        return f"/api/v1/characters/{self.character_id}/messages"


def sign_up(base: str) -> Member:
    """A new user and a character of theirs, made through the API at `base`."""
    with httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        email = f"{uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Aiko", "nickname": "Ai"}
        registered = http.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        login = http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token: str = login.json()["access_token"]
        created = http.post(
            "/api/v1/characters", headers={"Authorization": f"Bearer {token}"}, json=PERSONA
        )
        assert created.status_code == 201, created.text
        return Member(token, created.json()["character_id"])


@contextmanager
def socket(server: Server, member: Member) -> Iterator[ClientConnection]:
    """An open WebSocket of the member's on `server`, past its connection_status."""
    with connect(
        f"ws://127.0.0.1:{server.port}/api/v1/ws",
        additional_headers=member.headers,
        open_timeout=TIMEOUT,
    ) as ws:
        assert receive(ws)["type"] == "connection_status"
        yield ws


def receive(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return frame


def send(ws: ClientConnection, kind: str, payload: dict[str, Any]) -> str:
    frame_id = str(uuid4())
    ws.send(json.dumps({"id": frame_id, "type": kind, "payload": payload}))
    return frame_id


def final_reply_of_turn(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Read one turn's frames, to its avatar_expression; its final chat_response's payload."""
    frames = [receive(ws, timeout)]
    while frames[-1]["type"] != "avatar_expression":
        frames.append(receive(ws, timeout))
    done: dict[str, Any] = next(
        f["payload"] for f in frames if f["type"] == "chat_response" and f["payload"]["done"]
    )
    return done


def log_events(log: Path) -> list[str]:
    """The `event` of every JSON line a server logged."""
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line[:1] == "{":
            try:
                events.append(str(json.loads(line).get("event")))
            except json.JSONDecodeError:
                continue
    return events


def wait_until(check: Any, seconds: float, what: str, interval: float = 0.1) -> Any:
    """Poll `check()` until it returns something true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(interval)
