"""A turn, a regeneration or a choice sent over REST reaches every open socket of the user,
with the frames a socket's own turn sends (less its stream), in one process and across two."""

from __future__ import annotations

import itertools
import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from companion.app.api.app import create_app
from companion.app.api.ws_channels import UserChannels
from companion.app.bootstrap import bootstrap
from tests.support.api import api_settings, new_character, sign_up
from tests.support.ws import connect, heartbeat, opened, receive, send, whole_turn

TIMEOUT = 10.0
STORED_TURN = [
    "chat_message",
    "chat_response",
    "emotion_change",
    "mood_update",
    "avatar_expression",
]
"""A REST turn's frames: a character's first turn always moves the mood from nothing."""


def post_turn(
    client: TestClient[Any], headers: dict[str, str], character: str, text: str, **body: Any
) -> Any:
    answer = client.post(
        f"/api/v1/characters/{character}/messages", headers=headers, json={"text": text, **body}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def without_stream(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A socket turn's frames less what only a streamed turn has: typing and the deltas."""
    return [
        f
        for f in frames
        if f["type"] != "typing_indicator"
        and not (f["type"] == "chat_response" and not f["payload"]["done"])
    ]


def check_turn(frames: list[dict[str, Any]], body: Any, text: str, client_id: str | None) -> None:
    """The frames of a stored REST turn say what its answer says."""
    assert [f["type"] for f in frames] == STORED_TURN
    sent, done, _, mood, expression = (f["payload"] for f in frames)
    assert sent["message_id"] == body["message_id"]
    assert (sent["sender"], sent["text"], sent["client_message_id"]) == ("user", text, client_id)
    assert sent["in_reply_to"] is None  # no client frame asked for it
    assert done["message_id"] == body["reply"]["message_id"]
    assert done["in_reply_to"] == body["message_id"]
    assert (done["text"], done["delta"], done["done"]) == (body["reply"]["text"], "", True)
    assert done["fallback"] is body["reply"]["fallback"] is False
    assert isinstance(done["position"], int)
    assert done["consistency"] in ("applied", "pending")
    assert mood["mood"] == body["mood"]
    assert expression["expression"] == body["expression"]


def test_a_rest_turn_reaches_every_socket_of_the_user_once_and_no_one_elses(
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
        body = post_turn(client, user, character, "good morning", client_message_id="m-1")
        on_phone, on_tablet = whole_turn(phone), whole_turn(tablet)
        for socket in (phone, tablet, other):
            heartbeat(socket)  # nothing twice, nothing for the stranger
        # A turn refused before anything is stored tells no one.
        refused = client.post(
            f"/api/v1/characters/{character}/messages", headers=stranger, json={"text": "hi"}
        )
        assert refused.status_code == 404
        for socket in (phone, tablet, other):
            heartbeat(socket)
    check_turn(on_phone, body, "good morning", "m-1")
    assert on_tablet == on_phone  # the same frames, ids included


def test_a_rest_turn_sends_what_a_socket_turn_sends_less_the_stream(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    over_socket, over_rest = new_character(client, user), new_character(client, user)
    with connect(client, user) as phone, connect(client, user) as tablet:
        opened(phone)
        opened(tablet)
        send(phone, "chat_message", {"character_id": over_socket, "text": "hello there!"})
        whole_turn(phone)
        socket_turn = without_stream(whole_turn(tablet))
        post_turn(client, user, over_rest, "hello there!")
        rest_turn = whole_turn(tablet)

    def shape(frames: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
        return [(f["type"], sorted(f["payload"])) for f in frames]

    assert shape(rest_turn) == shape(socket_turn)
    assert [f["type"] for f in rest_turn] == STORED_TURN


def test_a_rest_regeneration_and_choice_reach_every_socket_of_the_user(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    with connect(client, user) as phone, connect(client, user) as tablet:
        opened(phone)
        opened(tablet)
        turn = post_turn(client, user, character, "tell me a story")
        whole_turn(phone)
        whole_turn(tablet)
        reply = turn["reply"]["message_id"]
        path = f"/api/v1/characters/{character}/messages/{reply}"

        regenerated = client.post(f"{path}/regenerate", headers=user)
        assert regenerated.status_code == 200, regenerated.text
        swiped = [receive(phone), receive(tablet)]
        chosen = client.put(f"{path}/choice", headers=user, json={"alternative": 1})
        assert chosen.status_code == 200, chosen.text
        picked = [receive(phone), receive(tablet)]
        for socket in (phone, tablet):
            heartbeat(socket)

    assert swiped[0] == swiped[1]
    assert picked[0] == picked[1]
    for frame, answer in ((swiped[0], regenerated.json()), (picked[0], chosen.json())):
        assert frame["type"] == "chat_response"
        payload = frame["payload"]
        assert payload["message_id"] == answer["message_id"] == reply
        assert (payload["alternative"], payload["alternatives"]) == (
            answer["alternative"],
            answer["alternatives"],
        )
        assert (payload["text"], payload["done"], payload["delta"]) == (answer["text"], True, "")
    assert (swiped[0]["payload"]["alternative"], picked[0]["payload"]["alternative"]) == (2, 1)
    assert picked[0]["payload"]["text"] == turn["reply"]["text"]


# -- across processes, through Redis -----------------------------------------------------


@pytest.fixture
def two_processes(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    """Two API apps on one PostgreSQL and one Redis; the first runs the projections."""
    settings = api_settings(tmp_path, database_url=postgres_url, redis_url=redis_url)
    first, second = bootstrap(settings), bootstrap(settings)
    try:
        with (
            TestClient(create_app(first)) as one,
            TestClient(create_app(second, run_projections=False)) as two,
        ):
            yield one, two
    finally:
        first.close()
        second.close()


def user_id_of(client: TestClient[Any], headers: dict[str, str]) -> UUID:
    return UUID(client.get("/api/v1/me", headers=headers).json()["user_id"])


def link(
    sender: TestClient[Any], user_id: UUID, near: WebSocketTestSession, far: WebSocketTestSession
) -> None:
    """Probe frames from the sender's process until one reaches the far socket through
    Redis: both processes are then subscribed, and neither socket has a probe left to
    come (the near one gets each at once; Redis delivers in order, or loses a probe
    sent before the other process listened)."""
    channels = sender.app.plugins.get(UserChannels)
    deadline = time.monotonic() + TIMEOUT
    for n in itertools.count():
        channels.tell(user_id, [("probe", {"n": n})])
        assert receive(near)["payload"] == {"n": n}
        try:
            while json.loads(far.receive_text(timeout=0.5))["payload"] != {"n": n}:
                pass
            return
        except queue.Empty:
            assert time.monotonic() < deadline, "the processes never linked through Redis"


@pytest.mark.redis
def test_a_rest_turn_on_one_process_reaches_the_users_sockets_on_both(
    two_processes: tuple[TestClient[Any], TestClient[Any]],
) -> None:
    one, two = two_processes
    user = sign_up(one)
    character = new_character(one, user)
    with connect(one, user) as phone, connect(two, user) as tablet:
        opened(phone)
        opened(tablet)
        link(one, user_id_of(one, user), phone, tablet)
        body = post_turn(one, user, character, "good evening")
        on_phone, on_tablet = whole_turn(phone), whole_turn(tablet)
        for socket in (phone, tablet):
            heartbeat(socket)  # each frame came once
    check_turn(on_phone, body, "good evening", None)
    assert on_tablet == on_phone
