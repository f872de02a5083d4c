"""The Redis fan-out backend: once per frame, and back after Redis drops its connections."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import structlog.testing
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.api.ws_channels import FanOutBackend, channels_prefix, redis_day_announcer
from companion.app.bootstrap import bootstrap
from tests.support.api import api_settings, new_character, sign_up
from tests.support.ws import connect, heartbeat, opened, receive, send, whole_turn

pytestmark = pytest.mark.redis
TIMEOUT = 10.0


async def _next(events: AsyncIterator[tuple[str, bytes]]) -> tuple[str, bytes]:
    return await asyncio.wait_for(anext(events), TIMEOUT)


async def _until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.02)


def test_frames_cross_processes_once_and_again_after_redis_drops_them(redis_url: str) -> None:
    asyncio.run(_crossing(redis_url))


async def _crossing(redis_url: str) -> None:
    here, there = FanOutBackend(redis_url, retry_seconds=0.1), FanOutBackend(redis_url)
    for backend in (here, there):
        await backend.on_startup()
        await backend.subscribe(["user:1"])
    here_events, there_events = here.stream_events(), there.stream_events()
    try:
        with structlog.testing.capture_logs() as logs:
            await _until(lambda: here._up and there._up)
            await here.publish(b"one", ["user:1", "user:2"])
            assert await _next(here_events) == ("user:1", b"one")  # delivered locally
            assert await _next(there_events) == ("user:1", b"one")  # through Redis
            await there.publish(b"two", ["user:1"])
            # Not "one" again from Redis: the next frame here is the other process's.
            assert await _next(here_events) == ("user:1", b"two")

            client = redis.Redis.from_url(redis_url)
            client.client_kill_filter(_type="pubsub")
            client.close()
            await _until(lambda: sum(e["event"] == "ws.redis_back" for e in logs) == 2)
            await there.publish(b"three", ["user:1"])
            assert await _next(here_events) == ("user:1", b"three")
        events = [(e["event"], e["log_level"]) for e in logs if e["event"].startswith("ws.redis")]
        assert events.count(("ws.redis_lost", "warning")) == 2  # one per backend
        assert events.count(("ws.redis_back", "info")) == 2
    finally:
        for backend in (here, there):
            await backend.on_shutdown()


def test_redis_out_of_reach_is_one_warning_however_many_retries(unused_port_url: str) -> None:
    asyncio.run(_out_of_reach(unused_port_url))


async def _out_of_reach(url: str) -> None:
    backend = FanOutBackend(url, retry_seconds=0.01)
    with structlog.testing.capture_logs() as logs:
        await backend.on_startup()
        assert backend._redis is not None
        attempts: list[int] = []
        pubsub = backend._redis.pubsub
        backend._redis.pubsub = lambda: attempts.append(1) or pubsub()  # type: ignore[method-assign]
        try:
            await backend.subscribe(["user:1"])
            await _until(lambda: len(attempts) >= 3)
            await backend.publish(b"here", ["user:1"])
            assert await _next(backend.stream_events()) == ("user:1", b"here")
        finally:
            await backend.on_shutdown()
    lost = [e for e in logs if e["event"] == "ws.redis_lost"]
    assert [e["log_level"] for e in lost] == ["warning"]


@pytest.fixture
def unused_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_a_day_the_projection_worker_lives_reaches_the_users_socket_through_redis(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    settings = api_settings(tmp_path, database_url=postgres_url, redis_url=redis_url)
    api, worker = bootstrap(settings), bootstrap(settings)
    try:
        assert worker.redis is not None
        assert worker.daily_life is not None
        worker.daily_life.announce = redis_day_announcer(worker.redis, channels_prefix(settings))
        with TestClient(create_app(api)) as client:
            user = sign_up(client)
            character = new_character(client, user)
            with connect(client, user) as socket:
                opened(socket)
                send(socket, "chat_message", {"character_id": character, "text": "hi"})
                whole_turn(socket)
                listeners = redis.Redis.from_url(redis_url)
                try:
                    deadline = time.monotonic() + TIMEOUT
                    while not any(int(c.get("psub", 0)) for c in listeners.client_list()):
                        assert time.monotonic() < deadline, "the API never subscribed to Redis"
                        time.sleep(0.02)
                finally:
                    listeners.close()
                while not worker.read_models.emotion_states.characters(worker.views):
                    assert time.monotonic() < deadline, "the read model never caught up"
                    time.sleep(0.02)
                start = datetime.now(UTC) + timedelta(days=1)
                days = (start + timedelta(days=n) for n in range(60))
                assert any(worker.daily_life.run_once(day) for day in days), "no event in 60 days"
                event = receive(socket)
                assert event["type"] == "daily_event"
                assert event["payload"]["character_id"] == character
                kinds = [receive(socket)["type"]]
                while kinds[-1] != "avatar_expression":
                    kinds.append(receive(socket)["type"])
                assert kinds[-2:] == ["mood_update", "avatar_expression"]
                heartbeat(socket)  # each frame came once
    finally:
        api.close()
        worker.close()
