"""The WebSocket: a streamed turn, every device in step, errors, sessions (auth: test_ws_auth)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.api.errors import CODES
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.identity import conversation_id
from tests.support.api import api_settings, sign_up
from tests.support.ws import (
    TIMEOUT,
    WS,
    connect,
    final_reply,
    heartbeat,
    opened,
    receive,
    send,
    stored_messages,
    whole_turn,
)


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_a_turn_streams_ack_typing_deltas_done_then_mood_and_expression(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    with connect(client, user) as socket:
        opened(socket)
        asked = send(socket, "chat_message", {"character_id": character, "text": "hello there!"})
        frames = whole_turn(socket)

    kinds = [f["type"] for f in frames]
    assert kinds[:2] == ["chat_message", "typing_indicator"]
    # The first turn moves the mood from nothing: the emotion changed.
    tail = ["chat_response", "emotion_change", "mood_update", "avatar_expression"]
    assert kinds[-4:] == tail
    assert set(kinds[2:-4]) == {"chat_response"}
    assert len(kinds) > 6
    ack, deltas, done = frames[0]["payload"], frames[2:-4], frames[-4]["payload"]
    assert ack["in_reply_to"] == asked
    assert all(not f["payload"]["done"] for f in deltas)
    assert done["done"] is True
    # The final frame is not held for the read models: it says whether they show
    # the turn yet, and a read that sends its position back waits for them.
    assert done["consistency"] in ("applied", "pending")
    assert isinstance(done["position"], int)
    read_after = {**user, "X-Consistency-Position": str(done["position"])}
    answer = client.get(f"/api/v1/characters/{character}/messages", headers=read_after)
    assert answer.headers["X-Consistency"] == "applied"
    page = answer.json()
    user_message, reply = page["messages"][::-1]
    assert ack["message_id"] == user_message["message_id"]
    assert done["message_id"] == reply["message_id"] == deltas[0]["payload"]["message_id"]
    assert "".join(f["payload"]["delta"] for f in deltas) == reply["text"] == done["text"]

    mood, expression = frames[-2]["payload"], frames[-1]["payload"]
    emotion = client.get(f"/api/v1/characters/{character}/emotion", headers=read_after).json()
    assert mood["character_id"] == character
    assert mood["mood"] == emotion["mood"]
    assert isinstance(mood["factors"], list)
    assert mood["factors"]
    assert expression["expression"] == emotion["expression"]
    assert expression["parameters"] == emotion["parameters"]
    assert expression["transition_ms"] > 0


def test_the_token_may_come_as_a_query_parameter(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    with client.websocket_connect(WS, params={"token": token_of(user)}) as socket:
        status = opened(socket)
        heartbeat(socket)
    me = client.get("/api/v1/me", headers=user).json()
    assert status["payload"]["user_id"] == me["user_id"]


def test_every_device_of_the_user_sees_the_turn_and_no_one_else_does(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    stranger = sign_up(client)
    with (
        connect(client, user) as phone,
        connect(client, user) as tablet,
        connect(client, stranger) as other,
    ):
        for socket in (phone, tablet, other):
            opened(socket)
        send(phone, "chat_message", {"character_id": character, "text": "good morning"})
        on_phone, on_tablet = whole_turn(phone), whole_turn(tablet)
        # Neither device got a frame twice: the next one is the heartbeat's answer.
        heartbeat(phone)
        heartbeat(tablet)
        # The stranger's first frame after the turn is its own heartbeat's answer.
        heartbeat(other)
    strip = [(f["type"], f["payload"]) for f in on_phone]
    assert strip == [(f["type"], f["payload"]) for f in on_tablet]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2]", "bad_request"),
        (json.dumps({"id": "x", "type": "dance", "payload": {}}), "bad_request"),
        (
            json.dumps({"id": "x", "type": "chat_message", "payload": {"text": 1}}),
            "validation_failed",
        ),
        ("x" * 5000, "body_too_large"),
    ],
    ids=["malformed", "not-an-object", "unknown-type", "wrong-payload", "oversized"],
)
def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays_usable(
    tmp_path: Path, raw: str, code: str
) -> None:
    companion = bootstrap(api_settings(tmp_path, ws_max_frame_bytes=4096))
    try:
        with TestClient(create_app(companion)) as client:
            user = sign_up(client)
            with connect(client, user) as socket:
                opened(socket)
                socket.send_text(raw)
                error = receive(socket)
                assert error["type"] == "error"
                assert error["payload"]["code"] == code
                assert code in CODES
                assert error["payload"]["detail"]
                heartbeat(socket)
    finally:
        companion.close()


def test_another_users_character_is_not_found_and_the_socket_stays_usable(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    stranger = sign_up(client)
    with connect(client, stranger) as socket:
        opened(socket)
        asked = send(socket, "chat_message", {"character_id": character, "text": "hi"})
        error = receive(socket)
        assert error["type"] == "error"
        assert error["payload"] == {
            "code": "character_not_found",
            "detail": "no such character",
            "in_reply_to": asked,
        }
        heartbeat(socket)
    assert stored_messages(client, user, character) == []


def test_message_read_records_message_read(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": character, "text": "hello"})
        reply_id = final_reply(whole_turn(socket))["message_id"]
        send(socket, "message_read", {"character_id": character, "message_id": reply_id})
        seen = receive(socket)
    assert seen["type"] == "message_read"
    assert seen["payload"] == {"character_id": character, "message_id": reply_id}
    user_id = UUID(client.get("/api/v1/me", headers=user).json()["user_id"])
    events = companion.application.events.get(conversation_id(user_id, UUID(character)))
    read = [e for e in events if type(e).__name__ == "MessageRead"]
    assert [e.message_id for e in read] == [UUID(reply_id)]  # type: ignore[attr-defined]


def test_resume_sends_the_messages_missed_since_the_last_one_seen(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    for text in ("first", "second", "third"):
        sent = client.post(
            f"/api/v1/characters/{character}/messages", headers=user, json={"text": text}
        )
        assert sent.status_code == 200, sent.text
    oldest_first = stored_messages(client, user, character, 6)[::-1]
    last_seen = oldest_first[1]["message_id"]
    with connect(client, user) as socket:
        opened(socket)
        asked = send(socket, "resume", {"character_id": character, "last_message_id": last_seen})
        resumed = receive(socket)
        send(socket, "resume", {"character_id": character, "last_message_id": str(uuid4())})
        unknown = receive(socket)
    assert resumed["type"] == "resume"
    assert resumed["payload"]["in_reply_to"] == asked
    assert [m["message_id"] for m in resumed["payload"]["messages"]] == [
        m["message_id"] for m in oldest_first[2:]
    ]
    assert next(m["text"] for m in resumed["payload"]["messages"]) == "second"
    assert unknown["payload"]["code"] == "message_not_found"


def test_an_idle_socket_is_closed_and_heartbeats_keep_it_open(tmp_path: Path) -> None:
    companion = bootstrap(api_settings(tmp_path, ws_idle_seconds=0.5))
    try:
        with TestClient(create_app(companion)) as client:
            user = sign_up(client)
            with connect(client, user) as socket:
                opened(socket)
                for _ in range(3):
                    heartbeat(socket)
                with pytest.raises(WebSocketDisconnect) as closed:
                    socket.receive_text(timeout=TIMEOUT)
            assert closed.value.code == 4408
    finally:
        companion.close()


def test_a_connection_records_its_session_start_and_end(tmp_path: Path) -> None:
    companion = bootstrap(api_settings(tmp_path))
    try:
        with TestClient(create_app(companion)) as client:
            user = sign_up(client)
            with connect(client, {**user, "User-Agent": "phone-app/1.0"}) as socket:
                session_id = UUID(opened(socket)["payload"]["session_id"])
                heartbeat(socket)
            me = client.get("/api/v1/me", headers=user).json()
        # The end is held while the user may reconnect; a stopping process writes it.
        events = list(companion.application.events.get(session_id))
    finally:
        companion.close()
    assert [type(e).__qualname__ for e in events] == ["Session.Started", "Session.Ended"]
    started, ended = events
    assert started.user_id == UUID(me["user_id"])  # type: ignore[attr-defined]
    assert started.device == "phone-app/1.0"  # type: ignore[attr-defined]
    assert ended.ended_at >= started.started_at  # type: ignore[attr-defined]


def test_equipping_an_unknown_item_gets_the_contracts_error(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    with connect(client, user) as socket:
        opened(socket)
        asked = send(
            socket,
            "avatar_customization",
            {"character_id": character, "slot": "hat", "item_id": str(uuid4())},
        )
        error = receive(socket)
        heartbeat(socket)
    assert error["type"] == "error"
    assert error["payload"]["code"] == "item_not_found"
    assert error["payload"]["in_reply_to"] == asked
