"""Messages per minute and per day by tier, over REST and the WebSocket, in memory and in Redis."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis
import structlog.testing
from eventsourcing.persistence import OperationalError
from litestar.testing import TestClient

from companion.adapters.rate_limit import MemoryMessageLimiter, RedisMessageLimiter
from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.app.message_limits import MessageLimits
from companion.domain.identity import conversation_id
from companion.domain.ports import Allowance, Day
from tests.support.api import api_settings, new_character, sign_up
from tests.support.clock import Clock
from tests.support.meeting import WAIT, Meeting
from tests.support.ws import connect, final_reply, heartbeat, opened, receive, send, whole_turn

# 2026-11-26 09:00:00 UTC: 18:00 in Tokyo, six hours before its midnight.
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def limited(companion: Companion, clock: Clock, limiter: Any = None, **overrides: Any) -> None:
    """The companion's message limits on the test's clock."""
    companion.message_limits = MessageLimits(
        companion.accounts,
        limiter if limiter is not None else MemoryMessageLimiter(clock=clock.seconds),
        clock=clock.seconds,
        **overrides,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def client(companion: Companion, clock: Clock) -> Iterator[TestClient[Any]]:
    limited(companion, clock)
    with TestClient(create_app(companion)) as client:
        yield client


def post(client: TestClient[Any], headers: dict[str, str], character: str, text: str) -> Any:
    return client.post(
        f"/api/v1/characters/{character}/messages", headers=headers, json={"text": text}
    )


def user_id_of(client: TestClient[Any], headers: dict[str, str]) -> UUID:
    return UUID(client.get("/api/v1/me", headers=headers).json()["user_id"])


def logged(companion: Companion, user_id: UUID, character: str) -> int:
    """How many events the conversation's stream holds."""
    return len(list(companion.application.events.get(conversation_id(user_id, UUID(character)))))


def test_a_free_user_sends_ten_a_minute_then_429_with_the_wait_and_nothing_stored(
    client: TestClient[Any],
    companion: Companion,
    clock: Clock,
    user: dict[str, str],
    character: str,
) -> None:
    for n in range(10):
        assert post(client, user, character, f"message {n}").status_code == 200
        clock.advance(seconds=2)  # the first left at START, the tenth at START + 18
    before = logged(companion, user_id_of(client, user), character)

    refused = post(client, user, character, "one too many")

    assert refused.status_code == 429
    body = refused.json()
    assert body["extra"]["code"] == "rate_limited"
    assert body["status_code"] == 429
    # The first message leaves the minute at START + 60; it is START + 20 now.
    assert refused.headers["Retry-After"] == "40"
    assert logged(companion, user_id_of(client, user), character) == before

    clock.advance(seconds=39)
    assert post(client, user, character, "still too early").status_code == 429
    clock.advance(seconds=1)
    assert post(client, user, character, "now it fits").status_code == 200


def test_a_regenerated_reply_counts_as_a_message(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    reply = ""
    for n in range(10):
        answer = post(client, user, character, f"message {n}")
        assert answer.status_code == 200
        reply = answer.json()["reply"]["message_id"]
    before = logged(companion, user_id_of(client, user), character)
    refused = client.post(
        f"/api/v1/characters/{character}/messages/{reply}/regenerate", headers=user
    )
    assert (refused.status_code, refused.json()["extra"]["code"]) == (429, "rate_limited")
    assert int(refused.headers["Retry-After"]) == 60
    assert logged(companion, user_id_of(client, user), character) == before


def test_a_message_that_fails_is_not_counted(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for _ in range(12):
        assert post(client, user, str(uuid4()), "anyone there?").status_code == 404
    for n in range(10):
        assert post(client, user, character, f"message {n}").status_code == 200
    assert post(client, user, character, "eleventh").status_code == 429


def test_premium_sends_thirty_a_minute_as_soon_as_it_is_granted(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for n in range(10):
        assert post(client, user, character, f"free {n}").status_code == 200
    assert post(client, user, character, "free 11").status_code == 429

    upgraded = client.post("/api/v1/subscriptions", headers=user, json={"tier": "premium"})
    assert upgraded.status_code == 200, upgraded.text

    for n in range(20):
        assert post(client, user, character, f"premium {n}").status_code == 200, n
    refused = post(client, user, character, "premium 21")
    assert (refused.status_code, refused.json()["extra"]["code"]) == (429, "rate_limited")


def test_each_user_has_their_own_allowance(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for n in range(10):
        assert post(client, user, character, f"message {n}").status_code == 200
    other = sign_up(client)
    theirs = new_character(client, other)
    assert post(client, other, theirs, "my first").status_code == 200


def test_the_day_limit_waits_for_the_users_own_midnight(
    companion: Companion, clock: Clock, tmp_path: Path
) -> None:
    limited(companion, clock, per_minute=1000, per_day=3)
    with TestClient(create_app(companion)) as client:
        email = f"{uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": "correct horse battery", "name": "A", "nickname": "A"}
        registered = client.post("/api/v1/auth/register", json={**body, "timezone": "Asia/Tokyo"})
        assert registered.status_code == 201, registered.text
        token = client.post(
            "/api/v1/auth/token", json={"email": email, "password": body["password"]}
        ).json()["access_token"]
        user = {"Authorization": f"Bearer {token}"}
        character = new_character(client, user)
        for n in range(3):
            assert post(client, user, character, f"message {n}").status_code == 200
        refused = post(client, user, character, "fourth")
        assert refused.status_code == 429
        # 18:00 in Tokyo: six hours to its midnight.
        assert refused.headers["Retry-After"] == str(6 * 3600)
        clock.advance(seconds=6 * 3600)
        assert post(client, user, character, "a new day").status_code == 200


def test_the_per_minute_figure_can_be_set_for_every_tier(tmp_path: Path) -> None:
    companion = bootstrap(api_settings(tmp_path, messages_per_minute=2))
    try:
        with TestClient(create_app(companion)) as client:
            user = sign_up(client)
            character = new_character(client, user)
            assert post(client, user, character, "one").status_code == 200
            assert post(client, user, character, "two").status_code == 200
            assert post(client, user, character, "three").status_code == 429
    finally:
        companion.close()


def test_the_429_is_documented_on_the_routes_that_answer_it(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    for path in (
        "/api/v1/characters/{character_id}/messages",
        "/api/v1/characters/{character_id}/messages/{message_id}/regenerate",
    ):
        answer = paths[path]["post"]["responses"]["429"]
        assert "Retry-After" in answer["headers"]


# -- the WebSocket ---------------------------------------------------------------------


def test_a_socket_past_the_limit_gets_rate_limited_and_stays_open(
    client: TestClient[Any],
    companion: Companion,
    clock: Clock,
    user: dict[str, str],
    character: str,
) -> None:
    with connect(client, user) as socket:
        opened(socket)
        for n in range(10):
            send(socket, "chat_message", {"character_id": character, "text": f"message {n}"})
            whole_turn(socket)
        clock.advance(seconds=15)
        before = logged(companion, user_id_of(client, user), character)
        asked = send(socket, "chat_message", {"character_id": character, "text": "eleventh"})
        error = receive(socket)
        assert error["type"] == "error"
        assert error["payload"]["code"] == "rate_limited"
        assert error["payload"]["in_reply_to"] == asked
        assert error["payload"]["retry_after"] == 45
        heartbeat(socket)  # still open, and nothing else was sent
        assert logged(companion, user_id_of(client, user), character) == before

        clock.advance(seconds=45)
        send(socket, "chat_message", {"character_id": character, "text": "later"})
        assert whole_turn(socket)[0]["type"] == "chat_message"


def test_rest_and_the_socket_share_one_allowance(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for n in range(9):
        assert post(client, user, character, f"message {n}").status_code == 200
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": character, "text": "tenth"})
        whole_turn(socket)
        # Counted before anything else: an unknown message would otherwise be not found.
        send(socket, "regenerate", {"character_id": character, "message_id": str(uuid4())})
        error = receive(socket)
        assert error["payload"]["code"] == "rate_limited"
    assert post(client, user, character, "eleventh").status_code == 429


# -- Redis -------------------------------------------------------------------------------


@pytest.mark.redis
def test_two_api_processes_on_one_redis_share_the_count(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    clock = Clock(START)
    settings = api_settings(tmp_path, database_url=postgres_url, redis_url=redis_url)
    first, second = bootstrap(settings), bootstrap(settings)
    try:
        for companion in (first, second):
            assert companion.redis is not None
            limited(companion, clock, RedisMessageLimiter(companion.redis, clock=clock.seconds))
        with TestClient(create_app(first)) as a, TestClient(create_app(second)) as b:
            user = sign_up(a)
            character = new_character(a, user)
            for n in range(5):
                assert post(a, user, character, f"through a {n}").status_code == 200
                clock.advance(seconds=1)
            for n in range(5):
                assert post(b, user, character, f"through b {n}").status_code == 200, n
                clock.advance(seconds=1)
            refused = post(b, user, character, "one too many")
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "50"
            assert post(a, user, character, "nor here").status_code == 429
            clock.advance(seconds=50)
            assert post(a, user, character, "now").status_code == 200
    finally:
        first.close()
        second.close()


@pytest.mark.redis
def test_redis_counts_atomically_and_takes_back_exactly(redis_url: str) -> None:
    clock = Clock(START)
    here = RedisMessageLimiter(redis.Redis.from_url(redis_url), clock=clock.seconds)
    there = RedisMessageLimiter(redis.Redis.from_url(redis_url), clock=clock.seconds)
    allowance, day = Allowance(per_minute=3, per_day=5), Day("2026-11-26", 1000.0)
    tickets = [here.admit("u", allowance, day).ticket, there.admit("u", allowance, day).ticket]
    assert all(tickets)
    third = here.admit("u", allowance, day)
    assert third.ticket is not None
    assert there.admit("u", allowance, day).retry_after == 60
    there.withdraw(third.ticket)
    assert here.admit("u", allowance, day).admitted
    clock.advance(seconds=61)
    assert here.admit("u", allowance, day).admitted
    assert there.admit("u", allowance, day).admitted  # the fifth today
    refused = here.admit("u", allowance, day)
    assert refused.retry_after == 1000  # the minute has room, the day has not


def test_redis_out_of_reach_counts_in_this_process_with_one_warning(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.2)
    limiter = RedisMessageLimiter(client, recheck_seconds=0.0)
    allowance, day = Allowance(per_minute=2, per_day=None), Day("2026-11-26", 1000.0)
    with structlog.testing.capture_logs() as logs:
        assert limiter.admit("u", allowance, day).admitted
        assert limiter.admit("u", allowance, day).admitted
        assert not limiter.admit("u", allowance, day).admitted
    warnings = [e for e in logs if e["event"] == "rate_limit.redis_unavailable"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert json.dumps(warnings[0]["fallback"]) == '"per-process limits"'


# -- retries -------------------------------------------------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def counted_in(
    request: pytest.FixtureRequest, client: TestClient[Any], companion: Companion, clock: Clock
) -> str:
    """The limits counted in this process's memory, or in Redis."""
    if request.param == "redis":
        redis_url = request.getfixturevalue("redis_url")
        limited(
            companion,
            clock,
            RedisMessageLimiter(redis.Redis.from_url(redis_url), clock=clock.seconds),
        )
    return str(request.param)


def post_once(
    client: TestClient[Any], headers: dict[str, str], character: str, text: str, client_id: str
) -> Any:
    return client.post(
        f"/api/v1/characters/{character}/messages",
        headers=headers,
        json={"text": text, "client_message_id": client_id},
    )


def test_a_retried_message_is_answered_again_and_not_counted_even_at_the_limit(
    client: TestClient[Any], counted_in: str, user: dict[str, str], character: str
) -> None:
    sent = [post_once(client, user, character, f"message {n}", f"m-{n}") for n in range(9)]
    assert [answer.status_code for answer in sent] == [200] * 9
    for _ in range(3):
        again = post_once(client, user, character, "message 0", "m-0")
        assert again.status_code == 200, again.text
        assert again.json()["message_id"] == sent[0].json()["message_id"]
        assert again.json()["reply"] == sent[0].json()["reply"]
    tenth = post_once(client, user, character, "message 9", "m-9")
    assert tenth.status_code == 200  # the retries took none of the ten
    assert post_once(client, user, character, "one too many", "m-10").status_code == 429

    at_the_limit = post_once(client, user, character, "message 9", "m-9")
    assert at_the_limit.status_code == 200, at_the_limit.text
    assert at_the_limit.json()["reply"] == tenth.json()["reply"]


def test_a_retried_frame_is_answered_again_at_the_limit(
    client: TestClient[Any], counted_in: str, user: dict[str, str], character: str
) -> None:
    for n in range(9):
        assert post(client, user, character, f"message {n}").status_code == 200
    tenth = {"character_id": character, "text": "tenth", "client_message_id": "m-10"}
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "chat_message", tenth)
        first = whole_turn(socket)
        send(socket, "chat_message", tenth)
        again = whole_turn(socket)
        send(socket, "chat_message", {"character_id": character, "text": "eleventh"})
        assert receive(socket)["payload"]["code"] == "rate_limited"

    assert again[0]["payload"]["message_id"] == first[0]["payload"]["message_id"]
    assert final_reply(again)["text"] == final_reply(first)["text"]


def test_a_retry_sent_while_its_original_is_in_flight_takes_no_second_slot(
    client: TestClient[Any],
    companion: Companion,
    counted_in: str,
    user: dict[str, str],
    character: str,
) -> None:
    for n in range(9):
        assert post(client, user, character, f"message {n}").status_code == 200
    meeting = Meeting(companion.model_call.chat_model, companion.chat.queue)
    companion.model_call.chat_model = meeting
    tenth = {"character_id": character, "text": "tenth", "client_message_id": "m-10"}
    with connect(client, user) as phone, connect(client, user) as tablet:
        opened(phone)
        opened(tablet)
        send(phone, "chat_message", tenth)  # the last of the ten, waiting for its reply
        assert meeting.first.wait(WAIT)
        send(tablet, "chat_message", tenth)  # the phone timed out; the tablet tries again
        frames: list[dict[str, Any]] = []
        while sum(f["type"] == "avatar_expression" for f in frames) < 2:
            frames.append(receive(tablet))
            assert frames[-1]["type"] != "error", frames[-1]

    acks = {f["payload"]["message_id"] for f in frames if f["type"] == "chat_message"}
    replies = {
        final_reply([f])["text"]
        for f in frames
        if f["type"] == "chat_response" and f["payload"]["done"]
    }
    assert len(acks) == len(replies) == 1  # one message, one reply, answered twice
    assert post(client, user, character, "eleventh").status_code == 429


# -- given back ------------------------------------------------------------------------


def left_this_minute(client: TestClient[Any], headers: dict[str, str]) -> int:
    """How many more messages the user may send now: sent (to a new character) until a 429."""
    character = new_character(client, headers)
    sent = 0
    while (answer := post(client, headers, character, f"one more {sent}")).status_code == 200:
        sent += 1
    assert answer.status_code == 429, answer.text
    return sent


@pytest.mark.parametrize("failing", ["UserMessageSent", "CompanionReplied"])
def test_a_turn_the_store_fails_gives_its_message_back(
    client: TestClient[Any],
    companion: Companion,
    counted_in: str,
    user: dict[str, str],
    character: str,
    failing: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counted before anything is stored, a turn whose message or reply the store then
    refuses does not count."""
    assert post(client, user, character, "counted").status_code == 200
    recorder = companion.application.recorder
    insert_events = recorder.insert_events

    def store_down(stored_events: Any, **kwargs: Any) -> Any:
        if any(e.topic.endswith(failing) for e in stored_events):
            raise OperationalError("the store is gone")
        return insert_events(stored_events, **kwargs)

    monkeypatch.setattr(recorder, "insert_events", store_down)
    failed = post(client, user, character, "lost")
    monkeypatch.undo()

    assert failed.status_code == 503, failed.text
    assert left_this_minute(client, user) == 9


def test_a_refused_regenerate_gives_its_message_back(
    client: TestClient[Any], counted_in: str, user: dict[str, str], character: str
) -> None:
    first = post(client, user, character, "first").json()
    assert post(client, user, character, "second").status_code == 200
    path = f"/api/v1/characters/{character}/messages"

    unknown = client.post(f"{path}/{uuid4()}/regenerate", headers=user)
    not_latest = client.post(f"{path}/{first['reply']['message_id']}/regenerate", headers=user)

    assert unknown.status_code == 404, unknown.text
    assert not_latest.status_code == 409, not_latest.text
    assert left_this_minute(client, user) == 8
