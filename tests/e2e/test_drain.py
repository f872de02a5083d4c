"""A `companion serve` process stopped (SIGTERM) mid-reply lets its sockets go gracefully.

Two API processes share one PostgreSQL and one Redis. A client talks to the first
while the model streams its reply slowly; the first is stopped in the middle of that
reply. The client is told to reconnect, gets the rest of the turn, sees the socket
closed with 1012, reconnects to the second process and resumes from its last message.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.support.api import PASSWORD, PERSONA
from tests.support.openai_standin import Stream, serving
from tests.support.server import Server

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
TIMEOUT = 20.0
PIECES = ("Hello", " there", ", Ai!")


@contextmanager
def two_processes(
    data_dir: Path, postgres_url: str, redis_url: str, stall: float, **first_env: str
) -> Iterator[tuple[Server, Server]]:
    """Two API processes on one PostgreSQL and one Redis, whose model streams its first
    piece of every reply, then stops for `stall` seconds before the rest."""
    with serving(Stream(pieces=PIECES, stall=stall, stall_after=1)) as standin:
        started: list[Server] = []
        try:
            for name, env in (("a", first_env), ("b", {})):
                server = Server(data_dir)
                server.log = data_dir / f"{name}.log"
                server.env.update(
                    COMPANION_DATABASE_URL=postgres_url,
                    COMPANION_REDIS_URL=redis_url,
                    COMPANION_LLM="openai",
                    COMPANION_OPENAI_BASE_URL=standin.base_url,
                    COMPANION_MEMORY_MODEL_EXTRACTION="false",
                    **env,
                )
                server.start()
                started.append(server)
            yield started[0], started[1]
        finally:
            for server in started:
                if server.process is not None:
                    server.stop()


def sign_up(base: str) -> tuple[str, str]:
    """A new user's token and a character of theirs."""
    with httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        email = f"{uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Aiko", "nickname": "Ai"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201
        login = {"email": email, "password": PASSWORD}
        token: str = http.post("/api/v1/auth/token", json=login).json()["access_token"]
        created = http.post(
            "/api/v1/characters", headers={"Authorization": f"Bearer {token}"}, json=PERSONA
        )
        assert created.status_code == 201, created.text
        return token, created.json()["character_id"]


@contextmanager
def opened(server: Server, token: str) -> Iterator[ClientConnection]:
    with connect(
        f"ws://127.0.0.1:{server.port}/api/v1/ws",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=TIMEOUT,
    ) as ws:
        status = receive(ws)
        assert status["type"] == "connection_status"
        assert status["payload"]["status"] == "connected"
        yield ws


def receive(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return frame


def send(ws: ClientConnection, kind: str, payload: dict[str, Any]) -> None:
    ws.send(json.dumps({"id": str(uuid4()), "type": kind, "payload": payload}))


def until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], ConnectionClosed]:
    """Every frame the socket still gets, and how it was closed."""
    frames: list[dict[str, Any]] = []
    while True:
        try:
            frames.append(receive(ws))
        except ConnectionClosed as closed:
            return frames, closed


def final_reply(frames: list[dict[str, Any]]) -> dict[str, Any]:
    done: dict[str, Any] = next(
        f["payload"] for f in frames if f["type"] == "chat_response" and f["payload"]["done"]
    )
    return done


@dataclass
class Stopped:
    """What a client saw of a process stopped in the middle of its reply."""

    before: list[dict[str, Any]]
    """The frames of the earlier turn and of the interrupted one up to its first piece."""
    after: list[dict[str, Any]]
    """Every frame after the process was stopped."""
    closed: ConnectionClosed
    last_seen: str
    """The id of the last message the client had before the interrupted turn."""

    @property
    def acknowledged(self) -> list[str]:
        frames = self.before + self.after
        return [f["payload"]["message_id"] for f in frames if f["type"] == "chat_message"]


def stop_mid_reply(server: Server, token: str, character: str) -> Stopped:
    """A turn answered whole, then SIGTERM to `server` once the next reply has begun."""
    with opened(server, token) as ws:
        send(ws, "chat_message", {"character_id": character, "text": "good morning"})
        before = [receive(ws)]
        while before[-1]["type"] != "avatar_expression":
            before.append(receive(ws))
        last_seen = final_reply(before)["message_id"]
        send(ws, "chat_message", {"character_id": character, "text": "tell me a story"})
        before.append(receive(ws))
        while before[-1]["type"] != "chat_response":
            before.append(receive(ws))
        assert before[-1]["payload"]["delta"] == PIECES[0]
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        after, closed = until_closed(ws)
    # Ended by uvicorn's own SIGTERM again, once drained (as every stopped server is).
    assert server.process.wait(timeout=TIMEOUT) in (0, -signal.SIGTERM)
    server.process = None
    return Stopped(before, after, closed, last_seen)


def resume_elsewhere(server: Server, token: str, character: str, last_seen: str) -> list[Any]:
    """The messages after `last_seen`, as a socket on `server` resumes them."""
    with opened(server, token) as ws:
        send(ws, "resume", {"character_id": character, "last_message_id": last_seen})
        resumed = receive(ws)
    assert resumed["type"] == "resume"
    missed: list[Any] = resumed["payload"]["messages"]
    return missed


def test_a_stopped_process_finishes_the_reply_then_sends_the_client_elsewhere(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with two_processes(tmp_path, postgres_url, redis_url, stall=3.0) as (first, second):
        token, character = sign_up(first.base)
        stopped = stop_mid_reply(first, token, character)
        statuses = [f["payload"] for f in stopped.after if f["type"] == "connection_status"]
        assert statuses == [{"status": "reconnect"}]
        assert stopped.closed.rcvd is not None
        assert (stopped.closed.rcvd.code, stopped.closed.rcvd.reason) == (1012, "service restart")
        # The turn was let finish on the socket: its reply whole, then the mood's frames.
        turn = stopped.before[-3:] + stopped.after
        deltas = [
            f["payload"]["delta"]
            for f in turn
            if f["type"] == "chat_response" and not f["payload"]["done"]
        ]
        assert "".join(deltas) == "".join(PIECES)
        assert stopped.after[-1]["type"] == "avatar_expression"
        drained = [json.loads(line) for line in first.log.read_text().splitlines()]
        assert [(e["all_gone"], e["left"]) for e in drained if "all_gone" in e] == [(True, 0)]

        reply = final_reply(stopped.after)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=second.base, timeout=TIMEOUT) as http:
            page = http.get(
                f"/api/v1/characters/{character}/messages",
                headers={**headers, "X-Consistency-Position": str(reply["position"])},
            )
        assert page.headers["X-Consistency"] == "applied"
        missed = resume_elsewhere(second, token, character, stopped.last_seen)
        assert [m["sender"] for m in missed] == ["user", "character"]
        assert missed[1]["message_id"] == reply["message_id"]
        assert missed[1]["text"] == "".join(PIECES)
        stored = {m["message_id"] for m in page.json()["messages"]}
        assert set(stopped.acknowledged) <= stored


def test_a_reply_cut_off_by_the_drain_is_never_stored_in_half(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with two_processes(
        tmp_path, postgres_url, redis_url, stall=8.0, COMPANION_SHUTDOWN_DRAIN_SECONDS="1"
    ) as (first, second):
        token, character = sign_up(first.base)
        stopped = stop_mid_reply(first, token, character)
        statuses = [f["payload"] for f in stopped.after if f["type"] == "connection_status"]
        assert statuses == [{"status": "reconnect"}]
        assert stopped.closed.rcvd is not None
        assert stopped.closed.rcvd.code == 1012
        missed = resume_elsewhere(second, token, character, stopped.last_seen)
        asked = stopped.acknowledged[-1]
        assert [m["message_id"] for m in missed][:1] == [asked]
        replies = [m["text"] for m in missed[1:]]
        assert replies in ([], ["".join(PIECES)])
