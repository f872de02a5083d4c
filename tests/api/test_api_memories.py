"""The user's control over memory over HTTP: see each memory and where it came from, forget one
for good, and nobody else's memories, ever."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from litestar.testing import TestClient

from tests.support.api import new_character, sign_up


def send(client: TestClient[Any], headers: dict[str, str], character: str, text: str) -> Any:
    turn = client.post(
        f"/api/v1/characters/{character}/messages", headers=headers, json={"text": text}
    )
    assert turn.status_code == 200, turn.text
    return turn.json()


def memories(client: TestClient[Any], headers: dict[str, str], character: str, **query: Any) -> Any:
    return client.get(f"/api/v1/characters/{character}/memories", headers=headers, params=query)


def memory(client: TestClient[Any], headers: dict[str, str], character: str, memory_id: str) -> Any:
    return client.get(f"/api/v1/characters/{character}/memories/{memory_id}", headers=headers)


def forget(client: TestClient[Any], headers: dict[str, str], character: str, memory_id: str) -> Any:
    return client.delete(f"/api/v1/characters/{character}/memories/{memory_id}", headers=headers)


def test_each_memory_says_what_it_is_and_which_messages_it_came_from(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    told = send(client, user, character, "My cat is called Mochi.")
    again = send(client, user, character, "I have a cat named Mochi")
    send(client, user, character, "I love strawberry cake!")

    listed = memories(client, user, character)

    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["next_before"] is None
    cat = next(m for m in body["memories"] if "Mochi" in m["content"])
    assert cat["type"] == "relationship"
    assert 0 <= cat["importance"] <= 1
    assert cat["extractor"] == "rule:en_pet_name"
    assert cat["reinforcements"] == 1
    assert [(s["message_id"], s["text"]) for s in cat["sources"]] == [
        (told["message_id"], "My cat is called Mochi."),
        (again["message_id"], "I have a cat named Mochi"),
    ]
    assert all(s["at"] for s in cat["sources"])
    assert body["memories"][0]["content"] != cat["content"]  # newest first: the cake
    one = memory(client, user, character, cat["memory_id"])
    assert one.status_code == 200
    assert one.json() == cat
    preferences = memories(client, user, character, type="preference").json()["memories"]
    assert [m["type"] for m in preferences] == ["preference"]


def test_pages_of_memories_walk_every_one(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for food in ("ramen", "sushi", "curry", "tempura", "natto"):
        send(client, user, character, f"I love {food}!")
    seen: list[str] = []
    before = None
    while True:
        query = {"limit": 2} | ({"before": before} if before else {})
        page = memories(client, user, character, **query).json()
        seen.extend(m["content"] for m in page["memories"])
        before = page["next_before"]
        if before is None:
            break

    assert len(seen) == len(set(seen)) == 5
    assert "natto" in seen[0]


def test_a_forgotten_memory_leaves_the_list_and_every_later_reply(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    send(client, user, character, "My cat is called Mochi.")
    asked = send(client, user, character, "Do you remember my cat?")
    assert "Mochi" in asked["reply"]["text"]
    [cat] = memories(client, user, character).json()["memories"]

    forgotten = forget(client, user, character, cat["memory_id"])

    assert forgotten.status_code == 204
    assert forgotten.headers["X-Consistency"] == "applied"
    assert memories(client, user, character).json()["memories"] == []
    assert memory(client, user, character, cat["memory_id"]).status_code == 404
    again = send(client, user, character, "Do you remember my cat?")
    assert "Mochi" not in again["reply"]["text"]
    provenance = client.get(
        f"/api/v1/characters/{character}/messages/{again['reply']['message_id']}/provenance",
        headers=user,
    ).json()
    assert provenance["takes"][0]["prompt"]["memories"] == []
    assert forget(client, user, character, cat["memory_id"]).status_code == 404


def test_nobody_elses_memories_and_nothing_said_about_them(client: TestClient[Any]) -> None:
    owner = sign_up(client)
    character = new_character(client, owner)
    other_character = new_character(client, owner)
    send(client, owner, character, "My cat is called Mochi.")
    [cat] = memories(client, owner, character).json()["memories"]
    stranger = sign_up(client)
    strangers_character = new_character(client, stranger)
    mid = cat["memory_id"]

    answers = {
        "another user's character, listed": memories(client, stranger, character),
        "another user's memory": memory(client, stranger, character, mid),
        "another user forgets it": forget(client, stranger, character, mid),
        "through the stranger's own character": memory(client, stranger, strangers_character, mid),
        "forgotten through it": forget(client, stranger, strangers_character, mid),
        "through another character": memory(client, owner, other_character, mid),
        "forgotten through another character": forget(client, owner, other_character, mid),
        "an unknown memory": memory(client, owner, character, str(uuid4())),
        "an unknown page start": memories(client, owner, character, before=str(uuid4())),
        "a page start of another character": memories(client, owner, other_character, before=mid),
    }

    for case, answer in answers.items():
        assert answer.status_code == 404, case
        assert "Mochi" not in answer.text, case
        assert mid not in answer.text, case
        assert answer.json()["extra"]["code"] in ("character_not_found", "memory_not_found"), case
    assert memories(client, owner, other_character).json()["memories"] == []
    assert memories(client, stranger, strangers_character).json()["memories"] == []
    assert memory(client, owner, character, mid).status_code == 200
