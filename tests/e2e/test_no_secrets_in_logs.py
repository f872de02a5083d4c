"""What a real `companion serve` writes holds no secret and no text a user wrote.

And the client address its throttles count is the peer's own, unless the
operator names the proxy in front of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support.api import PASSWORD, PERSONA
from tests.support.server import Server

pytestmark = pytest.mark.slow
TIMEOUT = 20.0
JWT_SECRET = "jwt-secret-0e5b9a4c7d2f41e6a8b3c5d7e9f1a2b4"
NEW_PASSWORD = "a-new-password-5d0c3e8f"
REST_TEXT = "rest-text-7c1e: the plum tree by the station is in flower"
WS_TEXT = "socket-text-3a9f: I told nobody else about the letter"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    server.env.update(
        COMPANION_LOG_FORMAT="json",
        COMPANION_LOG_LEVEL="DEBUG",
        COMPANION_JWT_SECRET=JWT_SECRET,
    )
    server.start()
    yield server
    if server.process is not None:
        server.stop()


def receive(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return frame


def chat_over_the_socket(server: Server, token: str, character_id: str) -> None:
    """A turn over a socket opened with `?token=`, as browsers do."""
    with connect(
        f"ws://127.0.0.1:{server.port}/api/v1/ws?token={token}", open_timeout=TIMEOUT
    ) as ws:
        assert receive(ws)["type"] == "connection_status"
        payload = {"character_id": character_id, "text": WS_TEXT}
        ws.send(json.dumps({"id": str(uuid4()), "type": "chat_message", "payload": payload}))
        while not ((frame := receive(ws))["type"] == "chat_response" and frame["payload"]["done"]):
            assert frame["type"] != "error", frame


def test_no_token_password_secret_or_message_text_reaches_the_output(
    server: Server,
) -> None:
    with httpx.Client(base_url=server.base, timeout=TIMEOUT) as http:
        body = {"email": "quiet@example.com", "password": PASSWORD, "name": "Q", "nickname": "Q"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201
        login = {"email": "quiet@example.com", "password": PASSWORD}
        token = http.post("/api/v1/auth/token", json=login).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        character = http.post("/api/v1/characters", headers=headers, json=PERSONA).json()
        path = f"/api/v1/characters/{character['character_id']}/messages"
        assert http.post(path, headers=headers, json={"text": REST_TEXT}).status_code == 200
        chat_over_the_socket(server, token, character["character_id"])
        change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert http.put("/api/v1/me/password", headers=headers, json=change).status_code == 204
    server.stop()

    output = server.log.read_text()
    assert "/api/v1/ws" in output  # the socket's handshake was logged, without its token
    signature = token.rsplit(".", 1)[1]
    secrets = {
        "token": token,
        "token signature": signature,
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "jwt secret": JWT_SECRET,
        "message over REST": REST_TEXT,
        "message over the socket": WS_TEXT,
        "start of a message": WS_TEXT[:16],
    }
    assert [name for name, secret in secrets.items() if secret in output] == []


def failed_logins(server: Server, attempts: int) -> list[int]:
    """Wrong passwords, each from another address according to X-Forwarded-For."""
    with httpx.Client(base_url=server.base, timeout=TIMEOUT) as http:
        body = {"email": "door@example.com", "password": PASSWORD, "name": "D", "nickname": "D"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201
        wrong = {"email": "door@example.com", "password": "not the password"}
        return [
            http.post(
                "/api/v1/auth/token", json=wrong, headers={"X-Forwarded-For": f"203.0.113.{n}"}
            ).status_code
            for n in range(1, attempts + 1)
        ]


def throttled_server(data_dir: Path, **env: str) -> Server:
    """Two failed logins per address, many per account: only the address can stop them."""
    server = Server(data_dir)
    server.env.update(
        COMPANION_LOGIN_MAX_FAILURES_PER_ADDRESS="2",
        COMPANION_LOGIN_MAX_FAILURES_PER_ACCOUNT="50",
        **env,
    )
    return server


def test_a_forwarded_address_from_an_untrusted_peer_is_not_believed(tmp_path: Path) -> None:
    server = throttled_server(tmp_path)
    server.start()
    try:
        statuses = failed_logins(server, 4)
    finally:
        server.stop()

    assert statuses == [401, 401, 429, 429]


def test_a_forwarded_address_from_a_trusted_proxy_is_the_client(tmp_path: Path) -> None:
    server = throttled_server(tmp_path, COMPANION_TRUSTED_PROXIES='["127.0.0.1"]')
    server.start()
    try:
        statuses = failed_logins(server, 4)
    finally:
        server.stop()

    assert statuses == [401, 401, 401, 401]
