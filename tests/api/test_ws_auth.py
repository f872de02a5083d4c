"""A socket lives as long as its token: bad at the handshake, expired, revoked, it closes 4401."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from tests.support.api import PASSWORD, api_settings, new_character, sign_up
from tests.support.ws import (
    TIMEOUT,
    close_code,
    connect,
    heartbeat,
    opened,
    refused_with,
    send,
    stored_messages,
    token_expiring_in,
)

NEW_PASSWORD = "another long passphrase"


def change_password(client: TestClient[Any], headers: dict[str, str]) -> None:
    """A new password for the user: the headers' token no longer holds."""
    changed = client.put(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def login(client: TestClient[Any], email: str, password: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": ""},
    ],
    ids=["none", "garbage", "basic", "empty-header"],
)
def test_a_bad_token_is_accepted_then_closed_with_4401_before_any_frame(
    client: TestClient[Any], headers: dict[str, str]
) -> None:
    assert refused_with(client, headers) == 4401


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Token", "Bearer  "])
def test_only_the_exact_bearer_scheme_carries_a_token(
    client: TestClient[Any], user: dict[str, str], scheme: str
) -> None:
    token = user["Authorization"].removeprefix("Bearer ")
    assert refused_with(client, {"Authorization": f"{scheme} {token}"}) == 4401
    with connect(client, user) as socket:
        opened(socket)


def test_an_expired_or_revoked_token_is_closed_with_4401_at_the_handshake(
    client: TestClient[Any], companion: Companion
) -> None:
    email = "revoked@example.com"
    old = sign_up(client, email)
    expired = token_expiring_in(companion.settings.resolved_jwt_secret(), old, -5)
    assert refused_with(client, expired) == 4401
    change_password(client, old)
    assert refused_with(client, old) == 4401
    with connect(client, login(client, email, NEW_PASSWORD)) as socket:
        opened(socket)


def test_a_password_change_closes_the_open_socket_and_the_new_token_opens_one(
    client: TestClient[Any],
) -> None:
    email = "change@example.com"
    old = sign_up(client, email)
    character = new_character(client, old)
    with connect(client, old) as socket:
        opened(socket)
        heartbeat(socket)
        change_password(client, old)
        assert close_code(socket) == 4401
        # Whatever the old socket still sends is not served.
        send(socket, "chat_message", {"character_id": character, "text": "still there?"})
        send(socket, "resume", {"character_id": character})
    fresh = login(client, email, NEW_PASSWORD)
    with connect(client, fresh) as socket:
        opened(socket)
        heartbeat(socket)
    assert stored_messages(client, fresh, character) == []


def test_a_socket_is_closed_with_4401_when_its_token_expires(
    client: TestClient[Any], companion: Companion, user: dict[str, str]
) -> None:
    soon = token_expiring_in(companion.settings.resolved_jwt_secret(), user, 2)
    with connect(client, soon) as socket:
        opened(socket)
        heartbeat(socket)
        assert close_code(socket) == 4401


def test_a_forgotten_user_s_socket_is_closed_by_the_periodic_recheck(tmp_path: Path) -> None:
    companion = bootstrap(api_settings(tmp_path, ws_auth_recheck_seconds=0.2))
    try:
        with TestClient(create_app(companion)) as client:
            user = sign_up(client)
            user_id = UUID(client.get("/api/v1/me", headers=user).json()["user_id"])
            with connect(client, user) as socket:
                opened(socket)
                heartbeat(socket)
                # Forgotten where no announcement reaches the sockets (as the CLI does).
                position = companion.accounts.forget_user(user_id=user_id)
                assert companion.runner.wait_for(position, ["users"], timeout=TIMEOUT)
                assert close_code(socket) == 4401
    finally:
        companion.close()


@pytest.fixture
def two_processes(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    """Two API processes on one store and one Redis, neither rechecking tokens on its own."""
    settings = api_settings(
        tmp_path,
        database_url=postgres_url,
        redis_url=redis_url,
        ws_auth_recheck_seconds=3600,
    )
    with ExitStack() as stack:
        companions = [bootstrap(settings), bootstrap(settings)]
        for companion in companions:
            stack.callback(companion.close)
        here, there = (
            stack.enter_context(TestClient(create_app(companion))) for companion in companions
        )
        listeners = redis.Redis.from_url(redis_url)
        try:
            deadline = time.monotonic() + TIMEOUT
            while sum(int(c.get("psub", 0)) > 0 for c in listeners.client_list()) < 2:
                assert time.monotonic() < deadline, "the processes never subscribed to Redis"
                time.sleep(0.02)
        finally:
            listeners.close()
        yield here, there


@pytest.mark.redis
def test_a_password_changed_in_one_process_closes_the_socket_in_another(
    two_processes: tuple[TestClient[Any], TestClient[Any]],
) -> None:
    here, there = two_processes
    user = sign_up(here)
    with connect(there, user) as socket:
        opened(socket)
        heartbeat(socket)
        change_password(here, user)
        assert close_code(socket) == 4401
