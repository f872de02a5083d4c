from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from companion.app.bootstrap import Companion
from companion.domain.users import User
from tests.support.api import PASSWORD, sign_up


def register(client: TestClient[Any], **body: Any) -> Any:
    payload = {"email": "aiko@example.com", "password": PASSWORD, "name": "Aiko", "nickname": "Ai"}
    payload.update(body)
    return client.post("/api/v1/auth/register", json=payload)


def test_register_answers_201_with_the_user_id(client: TestClient[Any]) -> None:
    response = register(client, timezone="Asia/Tokyo")
    assert response.status_code == 201
    assert set(response.json()) == {"user_id"}


class CountingPasswords:
    """The real hasher, counting what each call asks of it."""

    def __init__(self, passwords: Any) -> None:
        self.passwords = passwords
        self.calls: list[str] = []

    def hash(self, password: str) -> str:
        self.calls.append("hash")
        digest: str = self.passwords.hash(password)
        return digest

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls.append("verify")
        return bool(self.passwords.verify(password_hash, password))

    def needs_rehash(self, password_hash: str) -> bool:
        return bool(self.passwords.needs_rehash(password_hash))


def login(client: TestClient[Any], email: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def test_a_taken_email_is_answered_as_a_new_one_and_its_owner_is_told(
    client: TestClient[Any], companion: Companion
) -> None:
    counting = CountingPasswords(companion.accounts.passwords)
    companion.accounts.passwords = counting
    first = register(client)
    work_for_a_new_email = list(counting.calls)
    counting.calls.clear()

    again = register(client, email="  AIKO@Example.COM ", password="the intruder's guess", name="X")
    work_for_a_taken_email = list(counting.calls)

    assert (again.status_code, set(again.json())) == (201, {"user_id"})
    assert work_for_a_taken_email == work_for_a_new_email == ["hash"]
    stranger = UUID(again.json()["user_id"])
    assert stranger != UUID(first.json()["user_id"])
    assert companion.uow.find(User, stranger, to_change=False) is None
    assert login(client, "aiko@example.com", "the intruder's guess").status_code == 401
    token = login(client, "aiko@example.com", PASSWORD)
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = client.get("/api/v1/me", headers=headers).json()
    assert (me["user_id"], me["name"]) == (first.json()["user_id"], "Aiko")
    assert me["sign_up_attempts"] == 1
    assert me["last_sign_up_attempt_at"] is not None


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
        "sign_up_attempts": 0,
        "last_sign_up_attempt_at": None,
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
