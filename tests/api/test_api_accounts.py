from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.support.api import PASSWORD, sign_up


def register(client: TestClient[Any], **body: Any) -> Any:
    payload = {"email": "aiko@example.com", "password": PASSWORD, "name": "Aiko", "nickname": "Ai"}
    payload.update(body)
    return client.post("/api/v1/auth/register", json=payload)


def test_register_answers_201_with_the_user_id(client: TestClient[Any]) -> None:
    response = register(client, timezone="Asia/Tokyo")
    assert response.status_code == 201
    assert set(response.json()) == {"user_id"}


def test_an_email_registers_once_whatever_its_case(client: TestClient[Any]) -> None:
    assert register(client).status_code == 201
    again = register(client, email="  AIKO@Example.COM ")
    assert again.status_code == 409
    assert again.json()["status_code"] == 409


def test_bad_fields_answer_422_and_name_the_problem(client: TestClient[Any]) -> None:
    for body in (
        {"email": "not-an-email"},
        {"password": "short"},
        {"timezone": "Mars/Olympus"},
        {"name": ""},
        {"unexpected": 1},
    ):
        response = register(client, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"]


def test_malformed_json_answers_400(client: TestClient[Any]) -> None:
    response = client.post(
        "/api/v1/auth/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_a_body_that_is_not_utf8_answers_400(client: TestClient[Any]) -> None:
    response = client.post(
        "/api/v1/auth/register", content=b'"\xff\xfe"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_a_body_over_the_limit_answers_413(client: TestClient[Any]) -> None:
    response = register(client, name="x" * 300_000)
    assert response.status_code == 413


def test_token_and_me(client: TestClient[Any]) -> None:
    register(client, timezone="Asia/Tokyo")
    token = client.post(
        "/api/v1/auth/token", json={"email": "aiko@example.com", "password": PASSWORD}
    )
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() | {"user_id": None} == {
        "user_id": None,
        "email": "aiko@example.com",
        "name": "Aiko",
        "nickname": "Ai",
        "timezone": "Asia/Tokyo",
        "subscription_tier": "free",
        "gems": 0,
    }


def test_wrong_password_and_unknown_email_both_answer_401(client: TestClient[Any]) -> None:
    register(client)
    wrong = client.post("/api/v1/auth/token", json={"email": "aiko@example.com", "password": "x"})
    unknown = client.post("/api/v1/auth/token", json={"email": "no@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_no_token_or_a_forged_one_answers_401(client: TestClient[Any]) -> None:
    assert client.get("/api/v1/me").status_code == 401
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}
    assert client.get("/api/v1/me", headers=forged).status_code == 401
    assert client.get("/api/v1/characters", headers={"Authorization": "Basic x"}).status_code == 401


def test_every_request_carries_a_request_id(client: TestClient[Any]) -> None:
    headers = sign_up(client)
    assert client.get("/api/v1/me", headers=headers).headers["x-request-id"]
