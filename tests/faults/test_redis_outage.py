"""Redis stopped and started under two API processes: each keeps serving, then they share again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis

from tests.support.live_client import (
    Member,
    api_server,
    final_reply_of_turn,
    log_events,
    send,
    sign_up,
    socket,
    wait_until,
)
from tests.support.server import Server
from tests.support.throwaway import ThrowawayRedis

pytestmark = pytest.mark.slow

PER_MINUTE = 3


def subscribed_processes(url: str) -> int:
    """How many clients listen on a pattern: one per API process following Redis."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return sum(int(c.get("psub", 0)) > 0 for c in client.client_list())
        finally:
            client.close()
    except redis.RedisError:
        return 0


ACKNOWLEDGED: list[tuple[Member, str]] = []
"""Every turn answered 200 in this module's test, with whose it was."""


def post_turn(server: Server, member: Member, text: str) -> httpx.Response:
    answer = httpx.post(
        f"{server.base}{member.messages_path}",
        headers=member.headers,
        json={"text": text},
        timeout=20,
    )
    if answer.status_code == 200:
        ACKNOWLEDGED.append((member, answer.json()["message_id"]))
    return answer


def shown_in(server: Server, member: Member) -> set[str]:
    page = httpx.get(
        f"{server.base}{member.messages_path}",
        headers=member.headers,
        params={"limit": 100},
        timeout=20,
    )
    assert page.status_code == 200, page.text
    return {m["message_id"] for m in page.json()["messages"]}


def readiness(server: Server) -> tuple[int, str]:
    answer = httpx.get(f"{server.base}/ready", timeout=10)
    return answer.status_code, str(answer.json()["checks"].get("redis"))


def counts_in_redis_again(server: Server, probe: Member) -> bool:
    """Send a turn (admitted or not, it asks Redis once the recheck is due); is Redis back?"""
    post_turn(server, probe, "probe")
    return "rate_limit.redis_back" in log_events(server.log)


def sends_the_limit_then_refused(server: Server, member: Member) -> None:
    for n in range(PER_MINUTE):
        answer = post_turn(server, member, f"counted {n}")
        assert answer.status_code == 200, answer.text
    refused = post_turn(server, member, "one too many")
    assert refused.status_code == 429, refused.text
    assert refused.json()["extra"]["code"] == "rate_limited"
    assert refused.headers.get("retry-after")


def test_a_redis_outage_degrades_to_each_process_and_recovers(
    database_url: str, redis_server: ThrowawayRedis, tmp_path: Path
) -> None:
    ACKNOWLEDGED.clear()
    common = {
        "COMPANION_DATABASE_URL": database_url,
        "COMPANION_REDIS_URL": redis_server.url,
        "COMPANION_MESSAGES_PER_MINUTE": str(PER_MINUTE),
    }
    first = api_server(tmp_path, "first", **common)
    second = api_server(tmp_path, "second", **common, COMPANION_EMBEDDED_PROJECTIONS="false")
    started: list[Server] = []
    try:
        for server in (first, second):
            server.start()
            started.append(server)
        wait_until(lambda: subscribed_processes(redis_server.url) == 2, 30, "both subscribed")
        member = sign_up(first.base)

        # Before: a turn sent to the first process reaches the user's socket on the second.
        with socket(second, member) as tablet:
            answer = post_turn(first, member, "before the outage")
            assert answer.status_code == 200, answer.text
            assert final_reply_of_turn(tablet)["message_id"] == answer.json()["reply"]["message_id"]

        redis_server.stop()

        # /ready says so, and nothing else is refused.
        assert readiness(first)[0] == 503
        assert readiness(first)[1].startswith("unavailable")
        # A socket still gets its own turn's frames from its own process.
        with socket(first, member) as phone:
            send(phone, "chat_message", {"character_id": member.character_id, "text": "alone?"})
            assert final_reply_of_turn(phone)["done"] is True
        # Limits count in each process: the limit on one, and the limit again on the other.
        limited = sign_up(first.base)
        sends_the_limit_then_refused(first, limited)
        sends_the_limit_then_refused(second, limited)

        redis_server.start()

        for server in (first, second):
            wait_until(lambda s=server: readiness(s) == (200, "ok"), 30, f"{server.log.stem} ready")
        wait_until(lambda: subscribed_processes(redis_server.url) == 2, 30, "both subscribed again")
        # Frames cross processes again.
        with socket(second, member) as tablet:
            answer = post_turn(first, member, "after the outage")
            assert answer.status_code == 200, answer.text
            assert final_reply_of_turn(tablet)["message_id"] == answer.json()["reply"]["message_id"]
        # Limits are shared again once each process asks Redis (every 5 s while it is lost).
        probe = sign_up(first.base)
        for server in (first, second):
            wait_until(
                lambda s=server: counts_in_redis_again(s, probe),
                30,
                f"{server.log.stem} counting in Redis again",
                interval=0.5,
            )
        shared = sign_up(first.base)
        for n in range(PER_MINUTE):
            answer = post_turn(first if n % 2 == 0 else second, shared, f"shared {n}")
            assert answer.status_code == 200, answer.text
        for server in (first, second):
            assert post_turn(server, shared, "over the shared limit").status_code == 429
        # Nothing acknowledged, before, during or after the outage, is missing.
        for someone in {member for member, _ in ACKNOWLEDGED}:
            missing = {m for who, m in ACKNOWLEDGED if who == someone} - shown_in(second, someone)
            assert not missing, missing
    finally:
        for server in started:
            server.stop()

    for server in (first, second):
        events = log_events(server.log)
        assert events.count("rate_limit.redis_unavailable") == 1, server.log.read_text()
        assert events.count("ws.redis_lost") == 1, server.log.read_text()
        assert "ws.redis_back" in events
