"""Bearer tokens over REST: only `Bearer <token>`, signed with our secret, within their lifetime."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from tests.support.api import PASSWORD, api_settings, sign_up


def claims_of(headers: dict[str, str]) -> dict[str, Any]:
    token = headers["Authorization"].removeprefix("Bearer ")
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["extra"]["code"] == "unauthorized"


@pytest.mark.parametrize("scheme", ["Basic", "Foo", "bearer", "BEARER", "Token", ""])
def test_only_the_bearer_scheme_carries_a_token(client: TestClient[Any], scheme: str) -> None:
    headers = sign_up(client)
    token = headers["Authorization"].removeprefix("Bearer ")

    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert_unauthorized(client.get("/api/v1/me", headers={"Authorization": f"{scheme} {token}"}))


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer  {token}", "{token}"])
def test_a_bearer_header_is_exactly_the_scheme_a_space_and_the_token(
    client: TestClient[Any], header: str
) -> None:
    token = sign_up(client)["Authorization"].removeprefix("Bearer ")

    response = client.get("/api/v1/me", headers={"Authorization": header.format(token=token)})

    assert_unauthorized(response)


def test_a_real_users_claims_signed_with_another_secret_are_refused(
    client: TestClient[Any],
) -> None:
    claims = claims_of(sign_up(client))
    assert {"sub", "exp", "iat"} <= set(claims)
    assert "ver" in claims["extras"]

    forged = jwt.encode(claims, "another secret, not the server's, 32+ bytes", algorithm="HS256")

    assert_unauthorized(client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}))


def test_a_token_whose_time_has_passed_is_refused(
    client: TestClient[Any], companion: Companion
) -> None:
    claims = claims_of(sign_up(client))
    now = int(time.time())
    expired = {**claims, "iat": now - 7200, "exp": now - 3600}
    secret = companion.settings.resolved_jwt_secret()
    signed = jwt.encode(expired, secret, algorithm="HS256")
    still_good = jwt.encode({**claims, "iat": now, "exp": now + 3600}, secret, algorithm="HS256")

    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {still_good}"}).is_success
    assert_unauthorized(client.get("/api/v1/me", headers={"Authorization": f"Bearer {signed}"}))


def test_the_token_lifetime_follows_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPANION_JWT_TTL_SECONDS", "120")
    companion = bootstrap(api_settings(tmp_path))
    try:
        with TestClient(create_app(companion)) as client:
            headers = sign_up(client, "ttl@example.com")
            token = client.post(
                "/api/v1/auth/token",
                json={"email": "ttl@example.com", "password": PASSWORD},
            )
    finally:
        companion.close()

    assert token.json()["expires_in"] == 120
    again = {"Authorization": "Bearer " + token.json()["access_token"]}
    for claims in (claims_of(headers), claims_of(again)):
        assert claims["exp"] - claims["iat"] == 120
