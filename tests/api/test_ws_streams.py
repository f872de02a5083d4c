"""A streamed turn over the WebSocket when the model restarts or fails mid-stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from companion.domain.chat import (
    ChatDelta,
    ChatDone,
    ChatReply,
    ChatRequest,
    ChatRestart,
    ChatStreamItem,
)
from tests.support.api import api_settings, new_character, sign_up
from tests.support.ws import connect, opened, send, stored_messages, whole_turn


class RetryingModel:
    """Streams an attempt that fails, a restart, then the reply it stores."""

    name = "retrying"

    def reply(self, request: ChatRequest) -> ChatReply:
        return ChatReply(text="Stored words.", model=self.name)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatStreamItem]:
        yield ChatDelta("Lost ")
        yield ChatRestart()
        yield ChatDelta("Stored ")
        yield ChatDelta("words.")
        yield ChatDone(self.reply(request))


class BrokenModel:
    """Streams a piece, then fails for good."""

    name = "broken"

    def reply(self, request: ChatRequest) -> ChatReply:
        raise ConnectionError("the model is gone")

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatStreamItem]:
        yield ChatDelta("Half a ")
        raise ConnectionError("the model is gone")


def client_with(tmp_path: Path, model: Any) -> Iterator[TestClient[Any]]:
    companion = bootstrap(api_settings(tmp_path), chat_model=model)
    try:
        with TestClient(create_app(companion)) as client:
            yield client
    finally:
        companion.close()


def chat_responses(client: TestClient[Any]) -> tuple[list[dict[str, Any]], Any, str]:
    user = sign_up(client)
    character = new_character(client, user)
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": character, "text": "hello"})
        frames = whole_turn(socket)
    responses = [f["payload"] for f in frames if f["type"] == "chat_response"]
    return responses, stored_messages(client, user, character, 2)[0], character


def shown(responses: list[dict[str, Any]]) -> str:
    """What a client shows: deltas, cleared at each restart."""
    text = ""
    for response in responses:
        text = "" if response.get("restart") else text + response["delta"]
    return text


@pytest.fixture
def retrying(tmp_path: Path) -> Iterator[TestClient[Any]]:
    yield from client_with(tmp_path, RetryingModel())


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[TestClient[Any]]:
    yield from client_with(tmp_path, BrokenModel())


def test_a_restart_tells_the_client_to_discard_what_it_showed(
    retrying: TestClient[Any],
) -> None:
    responses, reply, _ = chat_responses(retrying)
    assert [r.get("restart", False) for r in responses] == [False, True, False, False, False]
    assert reply["text"] == "Stored words." == shown(responses) == responses[-1]["text"]


def test_a_model_failing_mid_stream_restarts_with_the_stored_fallback(
    broken: TestClient[Any],
) -> None:
    responses, reply, _ = chat_responses(broken)
    assert responses[0]["delta"] == "Half a "
    assert responses[1]["restart"] is True
    assert shown(responses) == reply["text"] == responses[-1]["text"]
    assert "Half a" not in reply["text"]
