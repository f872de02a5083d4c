"""Tokens end when they should, logins are throttled, and writes say whether reads show them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
from eventsourcing.utils import get_topic
from litestar.testing import TestClient

from companion.adapters.passwords import Argon2Passwords
from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.users import User
from tests.support.api import PASSWORD, PERSONA, api_settings, sign_up

NEW_PASSWORD = "another long passphrase"


def me(client: TestClient[Any], headers: dict[str, str]) -> Any:
    return client.get("/api/v1/me", headers=headers)


def test_a_token_lives_as_long_as_the_setting_says(
    client: TestClient[Any], companion: Companion
) -> None:
    headers = sign_up(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    ttl = companion.settings.jwt_ttl_seconds
    assert ttl == 7 * 24 * 3600  # the default: a week
    assert abs(claims["exp"] - (time.time() + ttl)) < 60


def test_a_new_password_ends_every_older_token(client: TestClient[Any]) -> None:
    email = "change@example.com"
    old = sign_up(client, email)
    assert me(client, old).status_code == 200
    changed = client.put(
        "/api/v1/me/password",
        headers=old,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    refused = me(client, old)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert (
        client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).status_code
        == 401
    )
    token = client.post("/api/v1/auth/token", json={"email": email, "password": NEW_PASSWORD})
    fresh = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert me(client, fresh).status_code == 200


def test_a_wrong_current_password_changes_nothing(client: TestClient[Any]) -> None:
    headers = sign_up(client)
    refused = client.put(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
    )
    assert refused.status_code == 401
    assert me(client, headers).status_code == 200


def test_a_forgotten_user_s_tokens_stop_working(
    client: TestClient[Any], companion: Companion
) -> None:
    headers = sign_up(client)
    user_id = me(client, headers).json()["user_id"]
    position = companion.accounts.forget_user(user_id=UUID(user_id))
    assert companion.runner.wait_for(position, ["users"], timeout=10)
    assert me(client, headers).status_code == 401


def test_failed_logins_are_throttled_with_retry_after(client: TestClient[Any]) -> None:
    email = "guess@example.com"
    sign_up(client, email)
    wrong = {"email": email, "password": "wrong password!"}
    statuses = [client.post("/api/v1/auth/token", json=wrong).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    refused = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 429  # even the right password waits its turn
    assert refused.json()["extra"]["code"] == "too_many_attempts"
    assert int(refused.headers["retry-after"]) >= 1


def test_a_write_says_whether_reads_show_it(client: TestClient[Any]) -> None:
    headers = sign_up(client)
    created = client.post("/api/v1/characters", headers=headers, json=PERSONA)
    assert created.status_code == 201
    assert created.headers["x-consistency"] == "applied"


def test_a_write_the_read_models_have_not_applied_says_pending(tmp_path: Path) -> None:
    """No projection worker runs: the write stands, and the answer says reads lag."""
    companion = bootstrap(api_settings(tmp_path, read_your_writes_timeout=0.2))
    try:
        with TestClient(create_app(companion, run_projections=False)) as client:
            registered = client.post(
                "/api/v1/auth/register",
                json={"email": "p@example.com", "password": PASSWORD, "name": "P", "nickname": "P"},
            )
            assert registered.status_code == 201
            assert registered.headers["x-consistency"] == "pending"
            assert companion.application.recorder.max_notification_id()
    finally:
        companion.close()


def test_a_login_replaces_a_weak_hash_and_keeps_the_tokens(
    client: TestClient[Any], companion: Companion
) -> None:
    headers = sign_up(client, "rehash@example.com")
    # The operator raised the hashing cost: hashes made before are weaker.
    companion.accounts.passwords = Argon2Passwords(time_cost=2, memory_cost=2048)
    login = {"email": "rehash@example.com", "password": PASSWORD}
    assert client.post("/api/v1/auth/token", json=login).status_code == 200
    rehashed = companion.application.recorder.select_notifications(
        1, limit=100, topics=[get_topic(User.PasswordRehashed)]
    )
    assert len(rehashed) == 1
    assert me(client, headers).status_code == 200  # a rehash is not a new password
    assert client.post("/api/v1/auth/token", json=login).status_code == 200
    assert (
        len(
            companion.application.recorder.select_notifications(
                1, limit=100, topics=[get_topic(User.PasswordRehashed)]
            )
        )
        == 1
    )  # once replaced, the hash is current
