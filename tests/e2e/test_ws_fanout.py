"""WebSocket frames across real `companion serve` processes, through Redis, and without it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import redis
from websockets.sync.client import ClientConnection, connect

from tests.support.api import PASSWORD, PERSONA
from tests.support.server import Server

pytestmark = [pytest.mark.slow, pytest.mark.redis]
TIMEOUT = 20.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port  # closed again when the socket is: nothing listens there


def _server(data_dir: Path, name: str, **env: str) -> Server:
    server = Server(data_dir)
    server.log = data_dir / f"{name}.log"
    server.env.update(env)
    return server


def _sign_up(base: str) -> tuple[str, str]:
    """A new user's token and a character of theirs."""
    with httpx.Client(base_url=base, timeout=10) as http:
        email = f"{uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Aiko", "nickname": "Ai"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201
        login = {"email": email, "password": PASSWORD}
        token: str = http.post("/api/v1/auth/token", json=login).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = http.post("/api/v1/characters", headers=headers, json=PERSONA)
        assert created.status_code == 201, created.text
        return token, created.json()["character_id"]


@contextmanager
def _open(server: Server, token: str) -> Iterator[ClientConnection]:
    with connect(
        f"ws://127.0.0.1:{server.port}/api/v1/ws",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=TIMEOUT,
    ) as ws:
        assert _receive(ws)["type"] == "connection_status"
        yield ws


def _receive(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return frame


def _send(ws: ClientConnection, kind: str, payload: dict[str, Any]) -> str:
    frame_id = str(uuid4())
    ws.send(json.dumps({"id": frame_id, "type": kind, "payload": payload}))
    return frame_id


def _whole_turn(ws: ClientConnection) -> list[dict[str, Any]]:
    frames = [_receive(ws)]
    while frames[-1]["type"] != "avatar_expression":
        frames.append(_receive(ws))
    return frames


def _next_is_heartbeat(ws: ClientConnection) -> None:
    """Nothing was queued for this socket before its own heartbeat's answer."""
    frame_id = _send(ws, "heartbeat", {})
    answer = _receive(ws)
    assert answer["type"] == "heartbeat", answer
    assert answer["payload"]["in_reply_to"] == frame_id


def _check_turn(frames: list[dict[str, Any]], text: str) -> None:
    kinds = [f["type"] for f in frames]
    assert kinds[:2] == ["chat_message", "typing_indicator"], kinds
    assert frames[0]["payload"]["text"] == text
    responses = [f["payload"] for f in frames if f["type"] == "chat_response"]
    assert responses[-1]["done"] is True
    assert len(responses) >= 2  # at least one delta before the done
    assert {r["message_id"] for r in responses} == {responses[-1]["message_id"]}
    assert len({f["id"] for f in frames}) == len(frames)


@pytest.fixture
def pair(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[tuple[Server, Server]]:
    """Two API processes on one PostgreSQL and one Redis; the first runs the projections."""
    common = {"COMPANION_DATABASE_URL": postgres_url, "COMPANION_REDIS_URL": redis_url}
    first = _server(tmp_path, "a", **common)
    second = _server(tmp_path, "b", **common, COMPANION_EMBEDDED_PROJECTIONS="false")
    # The first creates the signing secret under the shared data folder; the second reads it.
    started: list[Server] = []
    try:
        for server in (first, second):
            server.start()
            started.append(server)
        yield first, second
    finally:
        for server in started:
            server.stop()


def _wait_for_listeners(redis_url: str, count: int) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + TIMEOUT
        # PUBSUB NUMPAT counts distinct patterns; both servers share theirs.
        while sum(int(c.get("psub", 0)) > 0 for c in client.client_list()) < count:
            assert time.monotonic() < deadline, "the servers never subscribed to Redis"
            time.sleep(0.05)
    finally:
        client.close()


def test_a_turn_sent_through_one_process_reaches_the_users_socket_on_another(
    pair: tuple[Server, Server], redis_url: str
) -> None:
    first, second = pair
    token, character = _sign_up(first.base)
    stranger, _ = _sign_up(first.base)
    _wait_for_listeners(redis_url, 2)
    with (
        _open(first, token) as phone,
        _open(second, token) as tablet,
        _open(second, stranger) as other,
    ):
        _send(phone, "chat_message", {"character_id": character, "text": "good morning"})
        on_phone, on_tablet = _whole_turn(phone), _whole_turn(tablet)
        _check_turn(on_phone, "good morning")
        assert [(f["id"], f["type"], f["payload"]) for f in on_tablet] == [
            (f["id"], f["type"], f["payload"]) for f in on_phone
        ]
        # Exactly once on both, and nothing for the other user.
        for ws in (phone, tablet, other):
            _next_is_heartbeat(ws)
    with httpx.Client(base_url=first.base, timeout=10) as http:
        path = f"/api/v1/characters/{character}/messages"
        page = http.get(path, headers={"Authorization": f"Bearer {token}"}).json()
        done = next(f["payload"] for f in on_tablet if f["payload"].get("done"))
        assert page["messages"][0]["message_id"] == done["message_id"]


def test_without_redis_a_process_still_serves_its_own_sockets_and_says_so(
    tmp_path: Path,
) -> None:
    server = _server(tmp_path, "alone", COMPANION_REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    server.start()
    try:
        token, character = _sign_up(server.base)
        with _open(server, token) as phone, _open(server, token) as tablet:
            _send(phone, "chat_message", {"character_id": character, "text": "still here?"})
            on_phone, on_tablet = _whole_turn(phone), _whole_turn(tablet)
            _check_turn(on_phone, "still here?")
            assert [f["id"] for f in on_tablet] == [f["id"] for f in on_phone]
            for ws in (phone, tablet):
                _next_is_heartbeat(ws)
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line[:1] == "{"]
    lost = [line for line in lines if line.get("event") == "ws.redis_lost"]
    assert len(lost) == 1, server.log.read_text()
    assert lost[0]["level"] == "warning"
