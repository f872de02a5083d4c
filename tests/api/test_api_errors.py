"""Every error has the one shape of API.md, on every route the app has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.app.errors import StoreUnreadable
from tests.support.api import api_settings
from tests.support.errors import assert_error_shape
from tests.support.personas import HANA as PERSONA
from tests.support.routes import operations


def test_the_route_table_has_secured_and_public_routes(client: TestClient[Any]) -> None:
    found = operations(client.app)
    assert any(o.secured for o in found)
    assert any(not o.secured for o in found)


def test_every_secured_route_refuses_an_anonymous_call_with_the_shape(
    client: TestClient[Any],
) -> None:
    secured = [o for o in operations(client.app) if o.secured]
    assert secured
    for operation in secured:
        response = client.request(operation.method, operation.path, json={})
        assert_error_shape(response, 401, "unauthorized")


def test_every_secured_route_refuses_a_bad_token_with_the_shape(client: TestClient[Any]) -> None:
    for operation in [o for o in operations(client.app) if o.secured]:
        response = client.request(
            operation.method, operation.path, headers={"Authorization": "Bearer not-a-jwt"}
        )
        assert_error_shape(response, 401, "unauthorized")


def test_wrong_credentials_are_a_401_with_www_authenticate(client: TestClient[Any]) -> None:
    response = client.post(
        "/api/v1/auth/token", json={"email": "nobody@example.com", "password": "x" * 12}
    )
    assert_error_shape(response, 401)


def test_an_unknown_route_is_a_404_with_the_shape(client: TestClient[Any]) -> None:
    assert_error_shape(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_405_with_the_shape(client: TestClient[Any]) -> None:
    for operation in operations(client.app):
        wrong = "PATCH" if operation.method != "PATCH" else "PUT"
        assert_error_shape(client.request(wrong, operation.path), 405, "method_not_allowed")


def test_a_missing_character_is_a_404_with_the_shape(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    response = client.get("/api/v1/characters/00000000-0000-4000-8000-000000000000", headers=user)
    assert_error_shape(response, 404, "character_not_found")


def test_a_duplicate_email_is_answered_as_a_new_one(client: TestClient[Any]) -> None:
    body = {"email": "twice@example.com", "password": "x" * 12, "name": "A", "nickname": "A"}
    first = client.post("/api/v1/auth/register", json=body)
    again = client.post("/api/v1/auth/register", json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert set(again.json()) == {"user_id"}
    assert again.json() != first.json()


def test_too_many_sign_ups_are_a_429_with_the_shape(tmp_path: Path) -> None:
    limit = 3
    companion = bootstrap(api_settings(tmp_path, registrations_per_address=limit))
    try:
        with TestClient(create_app(companion)) as client:
            for n in range(limit + 1):
                body = {
                    "email": f"n{n}@example.com",
                    "password": "x" * 12,
                    "name": "A",
                    "nickname": "A",
                }
                answer = client.post("/api/v1/auth/register", json=body)
    finally:
        companion.close()
    assert_error_shape(answer, 429, "rate_limited")
    assert int(answer.headers["retry-after"]) >= 1


def test_pydantic_and_the_domain_report_fields_in_one_shape(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    by_pydantic = client.post(
        "/api/v1/auth/register",
        json={"email": 5, "password": "x" * 12, "name": "A", "nickname": "A"},
    )
    by_domain = client.post(
        "/api/v1/auth/register",
        json={
            "email": "a@b.c",
            "password": "x" * 12,
            "name": "A",
            "nickname": "A",
            "timezone": "Mars/Base",
        },
    )
    for response, field in ((by_pydantic, "email"), (by_domain, "timezone")):
        body = assert_error_shape(response, 422, "validation_failed")
        assert [e["field"] for e in body["extra"]["errors"]] == [field]
        assert all(set(e) == {"field", "message"} for e in body["extra"]["errors"])


def test_a_bad_query_parameter_is_a_422_naming_it(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    response = client.get(f"/api/v1/characters/{character}/messages?limit=0", headers=user)
    body = assert_error_shape(response, 422, "validation_failed")
    assert [e["field"] for e in body["extra"]["errors"]] == ["limit"]


def test_the_store_failing_is_a_503_with_retry_after(
    client: TestClient[Any],
    user: dict[str, str],
    companion: Companion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    # At the storage boundary: the library's recorder, as a dead database would.
    for method in ("select_events", "insert_events"):
        monkeypatch.setattr(companion.application.recorder, method, unreachable)
    response = client.post("/api/v1/characters", headers=user, json=PERSONA)
    assert_error_shape(response, 503, "store_unavailable")
    assert int(response.headers["retry-after"]) >= 1


def test_an_unreadable_store_is_a_503_never_a_401(
    client: TestClient[Any],
    user: dict[str, str],
    companion: Companion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def undecryptable(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnreadable("cannot decrypt", position=7)

    for method in ("select_events", "insert_events"):
        monkeypatch.setattr(companion.application.recorder, method, undecryptable)
    response = client.post("/api/v1/characters", headers=user, json=PERSONA)
    assert_error_shape(response, 503, "store_unreadable")
    assert int(response.headers["retry-after"]) >= 1


def test_an_unexpected_error_is_a_500_with_the_shape(
    companion: Companion, user: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise LookupError("a bug")

    with TestClient(create_app(companion), raise_server_exceptions=False) as client:
        headers = user
        for method in ("select_events", "insert_events"):
            monkeypatch.setattr(companion.application.recorder, method, broken)
        response = client.post("/api/v1/characters", headers=headers, json=PERSONA)
        assert_error_shape(response, 500, "internal_error")
