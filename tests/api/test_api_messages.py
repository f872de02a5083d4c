from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from companion.app.bootstrap import Companion
from companion.domain.identity import conversation_id
from tests.support.api import sign_up


def send(client: TestClient[Any], headers: dict[str, str], character: str, **body: Any) -> Any:
    return client.post(f"/api/v1/characters/{character}/messages", headers=headers, json=body)


def test_a_turn_answers_with_the_reply_and_is_readable_at_once(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    turn = send(client, user, character, text="こんにちは、今日はテニスをしたよ")
    assert turn.status_code == 200
    body = turn.json()
    assert body["reply"]["text"]
    assert -100 <= body["mood"] <= 100
    assert body["expression"]
    # Read-your-writes: the very next read sees both messages, newest first.
    page = client.get(f"/api/v1/characters/{character}/messages", headers=user).json()
    assert [(m["sender"], m["message_id"]) for m in page["messages"]] == [
        ("character", body["reply"]["message_id"]),
        ("user", body["message_id"]),
    ]
    assert page["messages"][1]["text"] == "こんにちは、今日はテニスをしたよ"
    assert page["next_before"] is None


def test_a_retried_message_is_stored_once(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    first = send(client, user, character, text="hello", client_message_id="m-1").json()
    again = send(client, user, character, text="hello", client_message_id="m-1").json()
    assert again == first
    page = client.get(f"/api/v1/characters/{character}/messages", headers=user).json()
    assert len(page["messages"]) == 2


def test_pages_walk_every_message_once_newest_first(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for n in range(7):
        send(client, user, character, text=f"message {n}")
    seen: list[dict[str, Any]] = []
    before = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if before:
            params["before"] = before
        page = client.get(
            f"/api/v1/characters/{character}/messages", headers=user, params=params
        ).json()
        seen.extend(page["messages"])
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == 14
    assert len({m["message_id"] for m in seen}) == 14
    user_texts = [m["text"] for m in seen if m["sender"] == "user"]
    assert user_texts == [f"message {n}" for n in reversed(range(7))]


def test_message_rules_answer_422(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    assert send(client, user, character, text="").status_code == 422
    assert send(client, user, character, text="   ").status_code == 422
    assert send(client, user, character, text="x" * 4001).status_code == 422
    assert send(client, user, character).status_code == 422
    assert send(client, user, character, text="ok", client_message_id="").status_code == 422
    assert send(client, user, character, text="x" * 4000).status_code == 200


def test_a_page_limit_out_of_range_answers_400_or_422(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for limit in (0, 101, "many"):
        response = client.get(
            f"/api/v1/characters/{character}/messages", headers=user, params={"limit": limit}
        )
        assert response.status_code in (400, 422), response.text


def test_conversations_are_private_to_each_user(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    send(client, user, character, text="secret plans")
    stranger = sign_up(client)
    response = client.get(f"/api/v1/characters/{character}/messages", headers=stranger)
    assert response.status_code == 404
    assert "secret plans" not in response.text


def test_a_turn_past_the_line_of_its_conversation_is_refused_with_429(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    me = client.get("/api/v1/me", headers=user).json()
    conversation = conversation_id(UUID(me["user_id"]), UUID(character))
    companion.chat.queue.max_waiting = 0
    with companion.chat.queue.hold(conversation):  # a turn of it is being made
        refused = send(client, user, character, text="one too many")
    assert refused.status_code == 429
    assert refused.json()["extra"]["code"] == "conversation_busy"
    assert int(refused.headers["Retry-After"]) >= 1
    # Nothing was stored, and the conversation takes the next turn once it is free.
    assert client.get(f"/api/v1/characters/{character}/messages", headers=user).json() == {
        "messages": [],
        "next_before": None,
    }
    assert send(client, user, character, text="now").status_code == 200
