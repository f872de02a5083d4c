"""Two deployments on one Redis never meet: keys and channels carry the deployment prefix."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis

from companion.app.api.ws_channels import FanOutBackend, channels_prefix
from companion.app.bootstrap import bootstrap
from companion.app.settings import Settings
from tests.support.api import api_settings

pytestmark = pytest.mark.redis
TIMEOUT = 10.0


def test_the_prefix_defaults_to_the_database_name_and_can_be_set() -> None:
    assert (
        Settings(database_url="postgresql://postgres@127.0.0.1:5432/tokyo").resolved_redis_prefix()
        == "companion:tokyo:"
    )
    assert (
        Settings(database_url="sqlite:////srv/osaka.db").resolved_redis_prefix()
        == "companion:osaka:"
    )
    assert Settings(database_url="memory://", redis_prefix="x:").resolved_redis_prefix() == "x:"


def test_frames_of_one_deployment_never_reach_another_on_the_same_redis(
    redis_url: str, tmp_path: Path
) -> None:
    asyncio.run(_two_deployments(redis_url, tmp_path))


async def _two_deployments(redis_url: str, tmp_path: Path) -> None:
    first = api_settings(tmp_path, database_url="sqlite:///" + str(tmp_path / "first.db"))
    second = api_settings(tmp_path, database_url="sqlite:///" + str(tmp_path / "second.db"))
    assert channels_prefix(first) != channels_prefix(second)
    ours = FanOutBackend(redis_url, channels_prefix(first))
    our_other_process = FanOutBackend(redis_url, channels_prefix(first))
    theirs = FanOutBackend(redis_url, channels_prefix(second))
    backends = (ours, our_other_process, theirs)
    for backend in backends:
        await backend.on_startup()
        await backend.subscribe(["user:1"])
    try:
        async with asyncio.timeout(TIMEOUT):
            while not all(backend._up for backend in backends):
                await asyncio.sleep(0.02)
        their_events = theirs.stream_events()
        our_events = our_other_process.stream_events()
        await ours.publish(b"secret", ["user:1"])
        assert await asyncio.wait_for(anext(our_events), TIMEOUT) == ("user:1", b"secret")
        await theirs.publish(b"theirs", ["user:1"])
        # The first frame the other deployment sees is its own: ours never reached it.
        assert await asyncio.wait_for(anext(their_events), TIMEOUT) == ("user:1", b"theirs")
    finally:
        for backend in backends:
            await backend.on_shutdown()


def test_throttle_and_limit_keys_carry_the_deployment_prefix(
    redis_url: str, tmp_path: Path
) -> None:
    settings = api_settings(tmp_path, redis_url=redis_url, redis_prefix="deployment-a:")
    companion = bootstrap(settings)
    client = redis.Redis.from_url(redis_url)
    try:
        companion.accounts.login_throttle.admit(account="someone@example.com", address="10.0.0.1")
        user_id = companion.accounts.register(
            email="limits@example.com", password="a long password 1", name="A", nickname="A"
        )
        companion.message_limits.admit(user_id)
        keys = [key.decode() for key in client.keys("*")]
        assert keys, "nothing was written to Redis"
        assert all(key.startswith("deployment-a:") for key in keys), keys
        assert any(key.startswith("deployment-a:throttle:") for key in keys), keys
        assert any(key.startswith("deployment-a:rate:") for key in keys), keys
    finally:
        client.close()
        companion.close()
