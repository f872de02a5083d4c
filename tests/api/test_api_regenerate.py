"""Regenerate ("swipe") over HTTP: alternatives of the latest reply, chosen and listed."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from litestar.testing import TestClient

from tests.support.api import new_character, sign_up


def send(client: TestClient[Any], headers: dict[str, str], character: str, text: str) -> Any:
    turn = client.post(
        f"/api/v1/characters/{character}/messages", headers=headers, json={"text": text}
    )
    assert turn.status_code == 200
    return turn.json()


def regenerate(
    client: TestClient[Any], headers: dict[str, str], character: str, message: str
) -> Any:
    return client.post(
        f"/api/v1/characters/{character}/messages/{message}/regenerate", headers=headers
    )


def choose(
    client: TestClient[Any], headers: dict[str, str], character: str, message: str, n: Any
) -> Any:
    return client.put(
        f"/api/v1/characters/{character}/messages/{message}/choice",
        headers=headers,
        json={"alternative": n},
    )


def newest(client: TestClient[Any], headers: dict[str, str], character: str) -> Any:
    page = client.get(f"/api/v1/characters/{character}/messages", headers=headers).json()
    return page["messages"][0]


def test_two_regenerations_then_choosing_the_first_take(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    turn = send(client, user, character, "今日はテニスをしたよ")
    reply = turn["reply"]["message_id"]

    second = regenerate(client, user, character, reply)
    third = regenerate(client, user, character, reply)

    assert second.status_code == third.status_code == 200
    assert (second.json()["alternative"], second.json()["alternatives"]) == (2, 2)
    assert (third.json()["alternative"], third.json()["alternatives"]) == (3, 3)
    shown = newest(client, user, character)
    assert (shown["message_id"], shown["text"]) == (reply, third.json()["text"])
    assert (shown["alternatives"], shown["chosen_alternative"]) == (3, 3)

    chosen = choose(client, user, character, reply, 1)

    assert chosen.status_code == 200
    assert chosen.json() == {
        "message_id": reply,
        "alternative": 1,
        "alternatives": 3,
        "text": turn["reply"]["text"],
        "fallback": False,
    }
    shown = newest(client, user, character)
    assert (shown["text"], shown["alternatives"], shown["chosen_alternative"]) == (
        turn["reply"]["text"],
        3,
        1,
    )


def test_messages_without_alternatives_say_one_of_one(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    send(client, user, character, "hello")

    page = client.get(f"/api/v1/characters/{character}/messages", headers=user).json()

    assert [(m["alternatives"], m["chosen_alternative"]) for m in page["messages"]] == [
        (1, 1),
        (1, 1),
    ]


def test_another_users_reply_is_not_found(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    reply = send(client, user, character, "hello")["reply"]["message_id"]
    stranger = sign_up(client)
    their_character = new_character(client, stranger)

    for target in (character, their_character):
        answer = regenerate(client, stranger, target, reply)
        assert answer.status_code == 404
        answer = choose(client, stranger, target, reply, 1)
        assert answer.status_code == 404
    assert newest(client, user, character)["alternatives"] == 1


def test_a_user_message_or_an_unknown_one_is_not_found(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    turn = send(client, user, character, "hello")

    for message in (turn["message_id"], str(uuid4())):
        answer = regenerate(client, user, character, message)
        assert answer.status_code == 404
        assert answer.json()["extra"]["code"] == "message_not_found"


def test_a_reply_the_user_already_answered_keeps_its_take(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    first = send(client, user, character, "hello")["reply"]["message_id"]
    send(client, user, character, "and then?")

    answer = regenerate(client, user, character, first)

    assert answer.status_code == 409
    assert answer.json()["extra"]["code"] == "conflict"
    assert choose(client, user, character, first, 1).status_code == 409


def test_a_choice_outside_the_alternatives_is_refused(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    reply = send(client, user, character, "hello")["reply"]["message_id"]

    assert choose(client, user, character, reply, 2).status_code == 422
    assert choose(client, user, character, reply, 0).status_code == 422
    assert choose(client, user, character, reply, "one").status_code == 422


def test_a_swipe_with_the_offline_companion_brings_another_answer(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    turn = send(client, user, character, "What did you do today?")
    first = turn["reply"]["text"]
    takes = [
        regenerate(client, user, character, turn["reply"]["message_id"]).json()["text"]
        for _ in range(2)
    ]
    assert {first, *takes} != {first}, "every take came back word for word"
