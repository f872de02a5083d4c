"""Turns sent at once to one conversation: every one answered, stored once, in order.

Through the API as clients send them: REST requests from threads released
together, and WebSocket turns from several sockets of one user. On SQLite and
on PostgreSQL, with one API process and with two on one database. Every turn
is answered 200 with the reply stored for it; the conversation, read back,
holds each message once, each followed at once by its own reply.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.identity import reply_id
from tests.support.api import api_settings, new_character, sign_up
from tests.support.concurrency import run_together
from tests.support.ws import connect, opened, send

TIMEOUT = 20.0
SECRET = "a secret every API process of the deployment shares"
LIMITS = {"messages_per_minute": 10_000, "messages_per_day": 100_000}

Clients = Callable[[int], list[TestClient[Any]]]
"""API processes on one database: `clients(n)` serves n of them, each with its own client."""


@contextmanager
def _served(companions: list[Companion]) -> Iterator[list[TestClient[Any]]]:
    """Each companion served by a test client; all closed on exit."""
    try:
        with ExitStack() as stack:
            yield [stack.enter_context(TestClient(create_app(c))) for c in companions]
    finally:
        for companion in companions:
            companion.close()


@pytest.fixture
def sqlite_clients(tmp_path: Path) -> Iterator[Clients]:
    with ExitStack() as stack:

        def clients(n: int) -> list[TestClient[Any]]:
            assert n == 1, "one SQLite file, one process"
            url = f"sqlite:///{tmp_path}/events.db"
            settings = api_settings(tmp_path, database_url=url, **LIMITS)
            return stack.enter_context(_served([bootstrap(settings)]))

        yield clients


@pytest.fixture
def postgres_clients(tmp_path: Path, postgres_url: str) -> Iterator[Clients]:
    with ExitStack() as stack:

        def clients(n: int) -> list[TestClient[Any]]:
            companions = []
            for number in range(n):
                data_dir = tmp_path / f"process-{number}"
                data_dir.mkdir()
                # One secret: a token from one process is good at the other.
                settings = api_settings(
                    data_dir, database_url=postgres_url, jwt_secret=SECRET, **LIMITS
                )
                companions.append(bootstrap(settings))
            return stack.enter_context(_served(companions))

        yield clients


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_clients(request: pytest.FixtureRequest) -> Clients:
    clients: Clients = request.getfixturevalue(f"{request.param}_clients")
    return clients


def _post_turn(client: TestClient[Any], headers: dict[str, str], character: str, text: str) -> Any:
    return client.post(
        f"/api/v1/characters/{character}/messages", headers=headers, json={"text": text}
    )


def _conversation(
    client: TestClient[Any], headers: dict[str, str], character: str, count: int
) -> list[dict[str, Any]]:
    """Every message of the conversation, oldest first, once the read model holds `count`."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        messages: list[dict[str, Any]] = []
        before: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"before": before} if before else {})}
            page = client.get(
                f"/api/v1/characters/{character}/messages", headers=headers, params=params
            )
            assert page.status_code == 200, page.text
            messages.extend(page.json()["messages"])
            before = page.json()["next_before"]
            if before is None:
                break
        if len(messages) >= count:
            return messages[::-1]
        assert time.monotonic() < deadline, "the read model never caught up"
        time.sleep(0.02)


def _assert_each_reply_after_its_message(
    messages: list[dict[str, Any]], answered: dict[str, tuple[str, str]], texts: list[str]
) -> None:
    """Each message once and its reply once, somewhere after it: the one its turn answered.

    What turns made by two processes at once keep: each process makes its
    conversation's turns one at a time, but the two processes' turns interleave.
    """
    said = {m["message_id"]: i for i, m in enumerate(messages) if m["sender"] == "user"}
    replied = {m["message_id"]: i for i, m in enumerate(messages) if m["sender"] == "character"}
    assert len(said) == len(replied) == len(messages) // 2
    assert sorted(m["text"] for m in messages if m["sender"] == "user") == sorted(texts)
    for message_id, at in said.items():
        assert replied[str(reply_id(UUID(message_id)))] > at
    texts_of = {m["message_id"]: m["text"] for m in messages}
    assert {m: (texts_of[m], texts_of[str(reply_id(UUID(m)))]) for m in answered} == answered


def _assert_kept_in_order(
    messages: list[dict[str, Any]], answered: dict[str, tuple[str, str]], texts: list[str]
) -> None:
    """Each message once, followed at once by its own reply: the one its turn answered."""
    kinds = [m["sender"] for m in messages]
    assert kinds == ["user", "character"] * (len(messages) // 2), kinds
    for said, reply in zip(messages[::2], messages[1::2], strict=True):
        assert reply["message_id"] == str(reply_id(UUID(said["message_id"])))
    sent = [m["text"] for m in messages[::2]]
    assert sorted(sent) == sorted(texts)
    stored = {
        said["message_id"]: (said["text"], reply["text"])
        for said, reply in zip(messages[::2], messages[1::2], strict=True)
    }
    assert {m: stored.get(m) for m in answered} == answered


def _outcomes(answers: list[Any]) -> Counter[str]:
    """How many requests were answered what: status and error code (or what was raised)."""
    return Counter(
        f"{a.status_code} {a.json().get('extra', {}).get('code', '')}".strip()
        if hasattr(a, "status_code")
        else f"{type(a).__name__}: {a}"
        for a in answers
    )


@pytest.mark.parametrize("turns", [8, 32])
def test_rest_turns_sent_at_once_are_all_answered_and_kept_in_order(
    backend_clients: Clients, turns: int
) -> None:
    (client,) = backend_clients(1)
    _talk_at_once([client], turns)


@pytest.mark.postgres
@pytest.mark.parametrize("turns", [8, 32])
def test_rest_turns_split_over_two_processes_are_all_answered_each_after_its_message(
    postgres_clients: Clients, turns: int
) -> None:
    _talk_at_once(postgres_clients(2), turns)


def _talk_at_once(clients: list[TestClient[Any]], turns: int) -> None:
    first = clients[0]
    user = sign_up(first)
    character = new_character(first, user)
    opening = _post_turn(first, user, character, "はじめまして")
    assert opening.status_code == 200, opening.text

    texts = [f"同時送信テスト {i}" for i in range(turns)]
    answers = run_together(
        turns, lambda i: _post_turn(clients[i % len(clients)], user, character, texts[i])
    )

    assert _outcomes(answers) == {"200": turns}
    answered = {
        a.json()["message_id"]: (text, a.json()["reply"]["text"])
        for text, a in zip(texts, answers, strict=True)
    }
    assert all(reply for _, reply in answered.values())
    for a in answers:
        body = a.json()
        assert body["reply"]["message_id"] == str(reply_id(UUID(body["message_id"])))
    messages = _conversation(first, user, character, 2 * (turns + 1))
    assert len(messages) == 2 * (turns + 1)
    assert messages[0]["text"] == "はじめまして"
    if len(clients) == 1:
        _assert_kept_in_order(messages[2:], answered, texts)
    else:
        _assert_each_reply_after_its_message(messages[2:], answered, texts)


# -- the WebSocket ------------------------------------------------------------------------


def _own_turns(socket: WebSocketTestSession, asked: dict[str, str]) -> dict[str, Any]:
    """What this socket's own frames came to: frame id → (message id, reply) or the error.

    Every socket of the user gets every turn's frames; an error frame goes to the
    socket whose frame failed only.
    """
    message_of: dict[str, str] = {}
    outcome: dict[str, Any] = {}
    while len(outcome) < len(asked):
        frame = json.loads(socket.receive_text(timeout=TIMEOUT))
        kind, payload = frame["type"], frame["payload"]
        if kind == "error" and payload.get("in_reply_to") in asked:
            outcome[payload["in_reply_to"]] = ("error", payload.get("code"))
        elif kind == "chat_message" and payload.get("in_reply_to") in asked:
            message_of[payload["message_id"]] = payload["in_reply_to"]
        elif kind == "chat_response" and payload["done"] and payload["in_reply_to"] in message_of:
            outcome[message_of[payload["in_reply_to"]]] = (payload["in_reply_to"], payload["text"])
    return outcome


@pytest.mark.parametrize(("sockets", "per_socket"), [(8, 1), (8, 4)])
def test_websocket_turns_from_several_sockets_at_once_are_all_answered_and_kept_in_order(
    backend_clients: Clients, sockets: int, per_socket: int
) -> None:
    (client,) = backend_clients(1)
    user = sign_up(client)
    character = new_character(client, user)
    opening = _post_turn(client, user, character, "はじめまして")
    assert opening.status_code == 200, opening.text

    with ExitStack() as stack:
        connected = [stack.enter_context(connect(client, user)) for _ in range(sockets)]
        for socket in connected:
            opened(socket)
        texts: dict[str, str] = {}
        asked: list[dict[str, str]] = [{} for _ in connected]
        for round_ in range(per_socket):
            for n, socket in enumerate(connected):
                text = f"同時送信テスト {n}.{round_}"
                frame_id = send(socket, "chat_message", {"character_id": character, "text": text})
                asked[n][frame_id] = text
                texts[frame_id] = text
        outcomes: dict[str, Any] = {}
        for socket, own in zip(connected, asked, strict=True):
            outcomes.update(_own_turns(socket, own))

    failed = {texts[f]: o for f, o in outcomes.items() if o[0] == "error"}
    assert failed == {}
    answered = {message_id: (texts[f], reply) for f, (message_id, reply) in outcomes.items()}
    assert len(answered) == sockets * per_socket
    assert all(reply for _, reply in answered.values())
    turns = sockets * per_socket
    messages = _conversation(client, user, character, 2 * (turns + 1))
    assert len(messages) == 2 * (turns + 1)
    _assert_kept_in_order(messages[2:], answered, list(texts.values()))
    # A socket's own turns are made one after another, in the order it sent them.
    said = [m["text"] for m in messages[2::2]]
    for own in asked:
        assert [t for t in said if t in own.values()] == list(own.values())
