"""Metrics across real `companion serve` processes sharing one PostgreSQL database and one
multiprocess directory: a scrape of either sums what both counted; a killed process's open
sockets leave the sum and its counts stay; a deployment started afresh counts from zero."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from tests.support.api import PASSWORD, PERSONA
from tests.support.server import Server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
TOKEN = "the deployment's metrics token"
ROUTE = "/api/v1/characters/{character_id}"
REQUESTS = "companion_http_request_duration_seconds_count"
TURNS = "companion_chat_turns_total"
SOCKETS = "companion_websockets_open"


def _value(server: Server, name: str, **labels: str) -> float:
    """One sample of a scrape of `server` (0 when absent)."""
    answer = httpx.get(
        f"{server.base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def _sign_up(server: Server) -> tuple[dict[str, str], str]:
    """A new user's headers and a character of theirs."""
    with httpx.Client(base_url=server.base, timeout=10) as http:
        email = f"{uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Aiko", "nickname": "Ai"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201
        login = {"email": email, "password": PASSWORD}
        token = http.post("/api/v1/auth/token", json=login).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = http.post("/api/v1/characters", headers=headers, json=PERSONA)
        assert created.status_code == 201, created.text
        return headers, created.json()["character_id"]


@pytest.fixture
def deployment(tmp_path: Path, postgres_url: str) -> Iterator[list[Server]]:
    """Two API processes of one deployment, the first running the projections; a test may
    stop them or add more, and whichever still run are stopped."""
    servers: list[Server] = []

    def server(name: str, **env: str) -> Server:
        made = Server(tmp_path)
        made.log = tmp_path / f"{name}.log"
        made.env.update(
            COMPANION_DATABASE_URL=postgres_url,
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
            COMPANION_METRICS_TOKEN=TOKEN,
            **env,
        )
        servers.append(made)
        return made

    try:
        server("a").start()
        server("b", COMPANION_EMBEDDED_PROJECTIONS="false").start()
        yield servers
    finally:
        for running in servers:
            if running.process is not None:
                running.stop()


def test_a_scrape_of_either_process_sums_what_both_counted(deployment: list[Server]) -> None:
    first, second = deployment
    user, character = _sign_up(first)
    for server, times in ((first, 2), (second, 3)):
        for _ in range(times):
            answer = httpx.get(f"{server.base}/api/v1/characters/{character}", headers=user)
            assert answer.status_code == 200
        turn = httpx.post(
            f"{server.base}/api/v1/characters/{character}/messages",
            headers=user,
            json={"text": "hello"},
            timeout=10,
        )
        assert turn.status_code == 200, turn.text

    for server in (first, second):
        assert _value(server, REQUESTS, method="GET", route=ROUTE, status="2xx") == 5
        assert _value(server, TURNS, transport="rest", outcome="replied") == 2
        assert (
            _value(server, REQUESTS, method="POST", route="/api/v1/auth/register", status="2xx")
            == 1
        )


def test_a_killed_process_leaves_the_open_sockets_but_not_the_counts(
    deployment: list[Server],
) -> None:
    first, second = deployment
    user, character = _sign_up(first)
    for _ in range(3):
        answer = httpx.get(f"{second.base}/api/v1/characters/{character}", headers=user)
        assert answer.status_code == 200
    with connect(f"ws://127.0.0.1:{second.port}/api/v1/ws", additional_headers=user) as ws:
        assert "connection_status" in str(ws.recv(timeout=10))
        assert _value(first, SOCKETS, route="/api/v1/ws") == 1
        assert second.process is not None
        second.process.kill()
        second.process.wait(timeout=20)
        second.process = None
    assert _value(first, SOCKETS, route="/api/v1/ws") == 0
    assert _value(first, REQUESTS, method="GET", route=ROUTE, status="2xx") == 3


def test_a_deployment_started_afresh_counts_from_zero(
    deployment: list[Server], tmp_path: Path
) -> None:
    first, second = deployment
    user, character = _sign_up(first)
    answer = httpx.get(f"{second.base}/api/v1/characters/{character}", headers=user)
    assert answer.status_code == 200
    assert _value(first, REQUESTS, method="GET", route=ROUTE, status="2xx") == 1
    for server in (first, second):
        assert server.stop() in (0, -signal.SIGTERM)

    again = Server(tmp_path)
    again.log = tmp_path / "again.log"
    again.env.update(first.env)
    deployment.append(again)
    again.start()
    assert _value(again, REQUESTS, method="GET", route=ROUTE, status="2xx") == 0
    assert _value(again, REQUESTS, method="POST", route="/api/v1/auth/register", status="2xx") == 0
