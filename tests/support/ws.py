"""Speaking the WebSocket protocol in a test: connect, send a frame, read frames, turns, closes."""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import uuid4

import jwt
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

WS = "/api/v1/ws"
TIMEOUT = 10.0


def connect(client: TestClient[Any], headers: dict[str, str]) -> WebSocketTestSession:
    return client.websocket_connect(WS, headers=headers)


def receive(socket: WebSocketTestSession) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(socket.receive_text(timeout=TIMEOUT))
    assert set(frame) == {"id", "type", "timestamp", "payload"}
    return frame


def opened(socket: WebSocketTestSession) -> dict[str, Any]:
    status = receive(socket)
    assert status["type"] == "connection_status"
    return status


def send(socket: WebSocketTestSession, kind: str, payload: dict[str, Any]) -> str:
    frame_id = str(uuid4())
    socket.send_text(json.dumps({"id": frame_id, "type": kind, "payload": payload}))
    return frame_id


def whole_turn(socket: WebSocketTestSession) -> list[dict[str, Any]]:
    """The frames of one turn, from the ack to the avatar's expression."""
    frames = [receive(socket)]
    while frames[-1]["type"] != "avatar_expression":
        frames.append(receive(socket))
    return frames


def final_reply(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The payload of a turn's final chat_response."""
    done: dict[str, Any] = next(
        f["payload"] for f in frames if f["type"] == "chat_response" and f["payload"]["done"]
    )
    return done


def heartbeat(socket: WebSocketTestSession) -> None:
    frame_id = send(socket, "heartbeat", {})
    answer = receive(socket)
    assert answer["type"] == "heartbeat"
    assert answer["payload"]["in_reply_to"] == frame_id


def stored_messages(
    client: TestClient[Any], headers: dict[str, str], character: str, count: int = 0
) -> Any:
    """The conversation, newest first, once the read model holds at least `count` messages."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        page = client.get(f"/api/v1/characters/{character}/messages", headers=headers)
        assert page.status_code == 200, page.text
        messages = page.json()["messages"]
        if len(messages) >= count:
            return messages
        assert time.monotonic() < deadline, "the read model never caught up"
        time.sleep(0.01)


def close_code(socket: WebSocketTestSession) -> int:
    """The code the server closes the socket with, no frame coming before the close."""
    with pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_text(timeout=TIMEOUT)
    return closed.value.code


def refused_with(client: TestClient[Any], headers: dict[str, str]) -> int:
    """The close code of a socket the server accepts and then closes before any frame."""
    with connect(client, headers) as socket:
        return close_code(socket)


def token_expiring_in(secret: str, headers: dict[str, str], seconds: int) -> dict[str, str]:
    """The headers' token with the same claims, signed alike, expiring within `seconds`."""
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) + seconds
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}
