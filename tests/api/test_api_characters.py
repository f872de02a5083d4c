from __future__ import annotations

from typing import Any
from uuid import uuid4

from litestar.testing import TestClient

from tests.support.api import PERSONA, new_character, sign_up


def test_a_created_character_is_listed_and_shown_at_once(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    character_id = new_character(client, user)
    listed = client.get("/api/v1/characters", headers=user).json()["characters"]
    assert [c["character_id"] for c in listed] == [character_id]
    shown = client.get(f"/api/v1/characters/{character_id}", headers=user)
    assert shown.status_code == 200
    body = shown.json()
    assert body["name"] == PERSONA["name"]
    assert body["personality"] == PERSONA["personality"]
    assert body["hobbies"] == PERSONA["hobbies"]
    assert body["relationship_level"] == 1


def test_another_users_character_is_not_found_and_never_shown(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    stranger = sign_up(client)
    for method, path in (
        ("GET", f"/api/v1/characters/{character}"),
        ("GET", f"/api/v1/characters/{character}/messages"),
    ):
        response = client.request(method, path, headers=stranger)
        assert response.status_code == 404
        assert PERSONA["name"] not in response.text
    post = client.post(
        f"/api/v1/characters/{character}/messages", headers=stranger, json={"text": "hi"}
    )
    assert post.status_code == 404
    assert client.get("/api/v1/characters", headers=stranger).json() == {"characters": []}


def test_an_unknown_character_is_404(client: TestClient[Any], user: dict[str, str]) -> None:
    assert client.get(f"/api/v1/characters/{uuid4()}", headers=user).status_code == 404
    assert client.get("/api/v1/characters/not-a-uuid", headers=user).status_code in (400, 404)


def test_character_rules_answer_422(client: TestClient[Any], user: dict[str, str]) -> None:
    for change in (
        {"age": 17},
        {"age": 101},
        {"gender": "friend"},
        {"personality": {**PERSONA["personality"], "humor": 1.5}},
        {"personality": {"kindness": 0.5}},
        {"hobbies": ["x" * 51]},
        {"name": "   "},
    ):
        response = client.post("/api/v1/characters", headers=user, json={**PERSONA, **change})
        assert response.status_code == 422, (change, response.text)


def test_characters_need_a_token(client: TestClient[Any]) -> None:
    assert client.post("/api/v1/characters", json=PERSONA).status_code == 401
    assert client.get("/api/v1/characters").status_code == 401
