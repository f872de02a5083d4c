"""The WebSocket's other frames: emotion_change, daily_event, message_read checked, regenerate."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import TestClient

from companion.app.bootstrap import Companion
from companion.domain.identity import conversation_id
from tests.support.api import new_character, sign_up
from tests.support.meeting import Meeting
from tests.support.ws import (
    TIMEOUT,
    connect,
    final_reply,
    heartbeat,
    opened,
    receive,
    send,
    whole_turn,
)


def of_type(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f["payload"] for f in frames if f["type"] == kind]


def user_id_of(client: TestClient[Any], headers: dict[str, str]) -> UUID:
    return UUID(client.get("/api/v1/me", headers=headers).json()["user_id"])


def reads(companion: Companion, user_id: UUID, character: str) -> list[UUID]:
    """The message ids of the conversation's MessageRead events."""
    events = companion.application.events.get(conversation_id(user_id, UUID(character)))
    return [e.message_id for e in events if type(e).__name__ == "MessageRead"]  # type: ignore[attr-defined]


def test_emotion_change_shows_the_emotion_as_rest_does_and_what_it_was(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": character, "text": "hello there!"})
        first = whole_turn(socket)
        send(socket, "chat_message", {"character_id": character, "text": "I love you so much!"})
        second = whole_turn(socket)

    (change,) = of_type(first, "emotion_change")
    assert change["before"] is None  # no mood before the first turn
    later = of_type(second, "emotion_change")
    # The final frame is not held for the read models: read after its position.
    read_after = {**user, "X-Consistency-Position": str(final_reply(second)["position"])}
    emotion = client.get(f"/api/v1/characters/{character}/emotion", headers=read_after).json()
    if later:
        (latest,) = later
        assert latest["before"] == {"mood": change["mood"], "expression": change["expression"]}
        assert (latest["mood"], latest["expression"]) != (change["mood"], change["expression"])
    else:  # the second message left mood and face as they were
        latest = change
        assert (emotion["mood"], emotion["expression"]) == (change["mood"], change["expression"])
    assert latest["character_id"] == character
    for key in ("mood", "baseline", "factors", "cause", "expression", "parameters"):
        assert latest[key] == emotion[key], key
    assert datetime.fromisoformat(latest["updated_at"]) == datetime.fromisoformat(
        emotion["updated_at"]
    )
    assert latest["cause"] == "message"


def test_a_day_the_scheduler_lives_reaches_every_socket_of_its_user(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    stranger = sign_up(client)
    with connect(client, user) as phone, connect(client, user) as tablet:
        opened(phone)
        opened(tablet)
        send(phone, "chat_message", {"character_id": character, "text": "good night"})
        whole_turn(phone)
        whole_turn(tablet)
        # The scheduler walks the emotion_states read model: wait until it lists the character.
        deadline = time.monotonic() + TIMEOUT
        while not companion.read_models.emotion_states.characters(companion.views):
            assert time.monotonic() < deadline, "the read model never caught up"
            time.sleep(0.01)
        scheduler = companion.daily_life
        assert scheduler is not None
        start = datetime.now(UTC) + timedelta(days=1)
        lived = 0
        for day in range(60):  # a character has an event most weeks; at most 60 days tried
            lived = scheduler.run_once(start + timedelta(days=day))
            if lived:
                break
        assert lived == 1, "no event in 60 days"
        on_phone, on_tablet = [receive(phone)], [receive(tablet)]
        while on_phone[-1]["type"] != "avatar_expression":
            on_phone.append(receive(phone))
        while on_tablet[-1]["type"] != "avatar_expression":
            on_tablet.append(receive(tablet))
        heartbeat(phone)
        heartbeat(tablet)
    assert [f["id"] for f in on_phone] == [f["id"] for f in on_tablet]
    kinds = [f["type"] for f in on_phone]
    assert kinds[0] == "daily_event"
    assert kinds[-2:] == ["mood_update", "avatar_expression"]
    event = on_phone[0]["payload"]
    assert event["character_id"] == character
    assert event["title"]
    assert event["description"]
    emotion = client.get(f"/api/v1/characters/{character}/emotion", headers=user).json()
    deadline = time.monotonic() + TIMEOUT
    while emotion["cause"] != "daily_event":
        assert time.monotonic() < deadline, "the read model never caught up"
        time.sleep(0.01)
        emotion = client.get(f"/api/v1/characters/{character}/emotion", headers=user).json()
    assert on_phone[-2]["payload"]["mood"] == emotion["mood"]
    for change in of_type(on_phone, "emotion_change"):
        assert change["cause"] == "daily_event"
    # Nothing for anyone else.
    with connect(client, stranger) as other:
        opened(other)
        heartbeat(other)


def test_message_read_of_an_unknown_or_foreign_message_is_not_found_and_records_nothing(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    stranger = sign_up(client)
    theirs = new_character(client, stranger)
    with connect(client, stranger) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": theirs, "text": "mine"})
        foreign = final_reply(whole_turn(socket))["message_id"]
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": character, "text": "hello"})
        own = final_reply(whole_turn(socket))["message_id"]
        for message_id in (str(uuid4()), foreign):
            asked = send(
                socket, "message_read", {"character_id": character, "message_id": message_id}
            )
            error = receive(socket)
            assert error["type"] == "error"
            assert error["payload"]["code"] == "message_not_found"
            assert error["payload"]["in_reply_to"] == asked
        heartbeat(socket)  # no message_read frame went out for either
        send(socket, "message_read", {"character_id": character, "message_id": own})
        assert receive(socket)["type"] == "message_read"
    assert reads(companion, user_id_of(client, user), character) == [UUID(own)]


def test_message_read_of_a_message_older_than_the_recent_turns_is_recorded(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    assert companion.message_limits is not None
    companion.message_limits.per_minute = 100  # more than a free user's ten
    first = ""
    for n in range(11):  # 22 messages: the first is out of the aggregate's recent turns
        sent = client.post(
            f"/api/v1/characters/{character}/messages", headers=user, json={"text": f"m{n}"}
        )
        assert sent.status_code == 200, sent.text
        first = first or sent.json()["message_id"]
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "message_read", {"character_id": character, "message_id": first})
        assert receive(socket)["type"] == "message_read"
    assert reads(companion, user_id_of(client, user), character) == [UUID(first)]


def test_a_regenerate_frame_swipes_the_latest_reply_on_every_device(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    with connect(client, user) as phone, connect(client, user) as tablet:
        opened(phone)
        opened(tablet)
        send(phone, "chat_message", {"character_id": character, "text": "tell me a story"})
        first = final_reply(whole_turn(phone))
        whole_turn(tablet)
        asked = send(
            phone, "regenerate", {"character_id": character, "message_id": first["message_id"]}
        )
        swiped, seen = receive(phone)["payload"], receive(tablet)["payload"]
    assert swiped == seen
    assert swiped["in_reply_to"] == asked
    assert swiped["message_id"] == first["message_id"]
    assert (swiped["alternative"], swiped["alternatives"], swiped["done"]) == (2, 2, True)
    assert swiped["consistency"] in ("applied", "pending")
    read_after = {**user, "X-Consistency-Position": str(swiped["position"])}
    page = client.get(f"/api/v1/characters/{character}/messages", headers=read_after).json()
    latest = page["messages"][0]
    assert (latest["text"], latest["alternatives"]) == (swiped["text"], 2)


def test_two_devices_sending_at_once_get_emotion_changes_that_chain(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    with connect(client, user) as phone:
        opened(phone)
        send(phone, "chat_message", {"character_id": character, "text": "hello there!"})
        (start,) = of_type(whole_turn(phone), "emotion_change")
        with connect(client, user) as tablet:
            opened(tablet)
            # Both turns have read the mood when either stores its reply.
            companion.model_call.chat_model = Meeting(
                companion.model_call.chat_model, companion.chat.queue
            )
            for device, text in ((phone, "I love you so much!"), (tablet, "You are wonderful!")):
                send(device, "chat_message", {"character_id": character, "text": text})
            frames: list[dict[str, Any]] = []
            while len(of_type(frames, "avatar_expression")) < 2:
                frames.append(receive(tablet))

    def face(change: dict[str, Any]) -> dict[str, Any]:
        return {"mood": change["mood"], "expression": change["expression"]}

    changes = of_type(frames, "emotion_change")
    assert len(changes) == 2, changes
    first, second = sorted(changes, key=lambda change: change["before"] != face(start))
    assert first["before"] == face(start)
    assert second["before"] == face(first)
    assert face(second) != face(first)
