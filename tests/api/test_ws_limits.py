"""A socket's limits: frames as strict as REST bodies, and a cap on one user's sockets."""

from __future__ import annotations

import socket as sockets_api
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import redis
import structlog.testing
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from companion.adapters.socket_leases import SocketLeases
from companion.app.api.app import create_app
from companion.app.api.body import MAX_DEPTH
from companion.app.bootstrap import bootstrap
from tests.support.api import api_settings, sign_up
from tests.support.ws import TIMEOUT, connect, heartbeat, opened, receive, refused_with

CAP = 2


def test_a_thousand_deep_frames_are_refused_without_a_traceback(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    deep = "[" * 60_000
    with connect(client, user) as socket, structlog.testing.capture_logs() as logs:
        opened(socket)
        for _ in range(1000):
            socket.send_text(deep)
            error = receive(socket)
            assert error["type"] == "error"
            assert error["payload"]["code"] == "too_deep"
        heartbeat(socket)
    socket_lines = [e for e in logs if e["event"].startswith("ws.")]
    assert not [e for e in logs if e.get("exc_info")]
    assert len(socket_lines) <= 3


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "too_deep"),
        ('{"type": "heartbeat", "type": "heartbeat", "payload": {}}', "duplicate_key"),
        ('{"type": "heartbeat", "payload": {"n": 1' + "0" * 30 + "}}", "number_out_of_range"),
    ],
    ids=["too-deep", "duplicate-key", "huge-number"],
)
def test_a_frame_meets_the_limits_of_a_rest_body(
    client: TestClient[Any], user: dict[str, str], raw: str, code: str
) -> None:
    with connect(client, user) as socket:
        opened(socket)
        socket.send_text(raw)
        error = receive(socket)
        heartbeat(socket)
    assert error["type"] == "error"
    assert error["payload"]["code"] == code


def open_sockets(
    stack: ExitStack, client: TestClient[Any], headers: dict[str, str], count: int
) -> list[Any]:
    sockets = [stack.enter_context(connect(client, headers)) for _ in range(count)]
    for socket in sockets:
        opened(socket)
    return sockets


def first_answer(client: TestClient[Any], headers: dict[str, str]) -> str | int:
    """The type of a new socket's first frame, or the code it is closed with."""
    with connect(client, headers) as socket:
        try:
            kind: str = receive(socket)["type"]
        except WebSocketDisconnect as closed:
            return closed.code
        return kind


def opens_again(client: TestClient[Any], headers: dict[str, str]) -> None:
    """A socket of the user opens, once the server has seen the last one close."""
    deadline = time.monotonic() + TIMEOUT
    while (answer := first_answer(client, headers)) != "connection_status":
        assert answer == 4429
        assert time.monotonic() < deadline, "a slot was never given back"
        time.sleep(0.05)


def test_a_user_s_sockets_are_capped_and_a_closed_one_gives_its_slot_back(
    tmp_path: Path,
) -> None:
    companion = bootstrap(api_settings(tmp_path, ws_max_sockets_per_user=CAP))
    try:
        with TestClient(create_app(companion)) as client:
            user, other = sign_up(client), sign_up(client)
            with ExitStack() as stack:
                first, _ = open_sockets(stack, client, user, CAP)
                assert refused_with(client, user) == 4429
                with connect(client, other) as socket:  # another user's count is their own
                    opened(socket)
                heartbeat(first)
            opens_again(client, user)
    finally:
        companion.close()


@pytest.fixture
def two_processes(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    settings = api_settings(
        tmp_path, database_url=postgres_url, redis_url=redis_url, ws_max_sockets_per_user=CAP
    )
    with ExitStack() as stack:
        companions = [bootstrap(settings), bootstrap(settings)]
        for companion in companions:
            stack.callback(companion.close)
        yield tuple(  # type: ignore[misc]
            stack.enter_context(TestClient(create_app(companion))) for companion in companions
        )


@pytest.mark.redis
def test_the_cap_counts_a_user_s_sockets_across_processes(
    two_processes: tuple[TestClient[Any], TestClient[Any]],
) -> None:
    here, there = two_processes
    user = sign_up(here)
    with ExitStack() as stack:
        open_sockets(stack, here, user, 1)
        with connect(there, user) as socket:
            opened(socket)
            assert refused_with(here, user) == 4429
            assert refused_with(there, user) == 4429
        opens_again(here, user)


@pytest.mark.redis
def test_a_lease_a_killed_process_left_behind_expires(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        dead = SocketLeases(CAP, client, lease_seconds=0.3)
        alive = SocketLeases(CAP, client, lease_seconds=0.3)
        user_id = uuid4()
        assert dead.take(user_id) is not None  # never renewed nor given back
        kept = alive.take(user_id)
        assert kept is not None
        assert alive.take(user_id) is None
        deadline = time.monotonic() + TIMEOUT
        while alive.take(user_id) is None:
            alive.renew(user_id, kept)  # the living socket's lease holds throughout
            assert time.monotonic() < deadline, "the dead process's lease never expired"
            time.sleep(0.05)
        assert alive.take(user_id) is None  # the living socket and the new one: full again
    finally:
        client.close()


def test_without_redis_the_cap_holds_in_the_process(unreachable_redis: redis.Redis) -> None:
    leases = SocketLeases(CAP, unreachable_redis)
    user_id = uuid4()
    with structlog.testing.capture_logs() as logs:
        taken = [leases.take(user_id) for _ in range(CAP + 1)]
    assert taken[-1] is None
    assert all(taken[:CAP])
    leases.give_back(user_id, str(taken[0]))
    assert leases.take(user_id) is not None
    assert [e["event"] for e in logs] == ["ws.sockets.redis_unavailable"]


@pytest.fixture
def unreachable_redis() -> Iterator[redis.Redis]:
    with sockets_api.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
    yield client
    client.close()
