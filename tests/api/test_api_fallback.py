"""A reply the model did not make says so: `fallback` on the REST answer and on the final
chat_response of a turn, whichever way the turn came and whichever socket shows it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.adapters.llm import openai_chat
from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from companion.domain.chat import ChatReply, ChatRequest
from tests.support.api import api_settings, new_character, sign_up
from tests.support.openai_standin import MODEL, Status, serving
from tests.support.ws import connect, final_reply, opened, send, whole_turn


class FailingModel:
    """A model whose every call fails."""

    name = "failing"

    def reply(self, request: ChatRequest) -> ChatReply:
        raise ConnectionError("the model is gone")


def served(tmp_path: Path, **settings: Any) -> Iterator[TestClient[Any]]:
    model = settings.pop("chat_model", None)
    companion = bootstrap(api_settings(tmp_path, **settings), chat_model=model)
    try:
        with TestClient(create_app(companion)) as client:
            yield client
    finally:
        companion.close()


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[TestClient[Any]]:
    yield from served(tmp_path, chat_model=FailingModel())


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[TestClient[Any]]:
    """The OpenAI adapter against a server that answers every request with a 503."""
    with serving(Status(503)) as standin:
        yield from served(
            tmp_path,
            llm="openai",
            openai_base_url=standin.base_url,
            openai_model=MODEL,
            llm_retries=1,
            llm_timeout_seconds=2,
        )


class PromptFailure(Exception):
    pass


@pytest.fixture
def prompt_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient[Any]]:
    """The OpenAI adapter whose building of the prompt fails, before anything is sent."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise PromptFailure("the prompt could not be built")

    monkeypatch.setattr(openai_chat, "build_prompt", broken)
    with serving(Status(503)) as standin:
        yield from served(
            tmp_path,
            llm="openai",
            openai_base_url=standin.base_url,
            openai_model=MODEL,
            llm_retries=1,
            llm_timeout_seconds=2,
        )


@pytest.mark.parametrize("model", ["failing", "prompt_failing"])
def test_a_rest_turn_whose_model_or_prompt_fails_is_answered_with_the_fallback_and_stored(
    model: str, request: pytest.FixtureRequest
) -> None:
    client: TestClient[Any] = request.getfixturevalue(model)
    user = sign_up(client)
    character = new_character(client, user)
    path = f"/api/v1/characters/{character}/messages"

    answer = client.post(path, headers=user, json={"text": "Are you there?"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["reply"]["fallback"] is True
    assert body["reply"]["text"]
    page = client.get(path, headers=user).json()
    assert [(m["sender"], m["message_id"], m["text"]) for m in page["messages"]] == [
        ("character", body["reply"]["message_id"], body["reply"]["text"]),
        ("user", body["message_id"], "Are you there?"),
    ]


def rest_and_socket_turns(client: TestClient[Any]) -> tuple[Any, dict[str, Any], Any]:
    """A REST turn (and its final frame on the user's open socket), then a socket turn."""
    user = sign_up(client)
    character = new_character(client, user)
    path = f"/api/v1/characters/{character}/messages"
    with connect(client, user) as socket:
        opened(socket)
        answer = client.post(path, headers=user, json={"text": "Are you there?"})
        assert answer.status_code == 200, answer.text
        fanned_out = final_reply(whole_turn(socket))
        send(socket, "chat_message", {"character_id": character, "text": "Hello?"})
        streamed = final_reply(whole_turn(socket))
    return answer.json(), fanned_out, streamed


@pytest.mark.parametrize("model", ["failing", "unreachable"])
def test_a_fallback_reply_says_so_over_rest_and_on_every_final_frame(
    model: str, request: pytest.FixtureRequest
) -> None:
    client: TestClient[Any] = request.getfixturevalue(model)
    body, fanned_out, streamed = rest_and_socket_turns(client)
    assert body["reply"]["fallback"] is True
    assert body["reply"]["text"]
    assert fanned_out["fallback"] is True
    assert fanned_out["text"] == body["reply"]["text"]
    assert streamed["fallback"] is True
    assert streamed["text"]


def test_a_models_reply_says_it_is_no_fallback(client: TestClient[Any]) -> None:
    body, fanned_out, streamed = rest_and_socket_turns(client)
    assert body["reply"]["fallback"] is False
    assert fanned_out["fallback"] is False
    assert streamed["fallback"] is False


def test_a_retried_turn_answers_whether_its_stored_reply_was_a_fallback(
    failing: TestClient[Any],
) -> None:
    user = sign_up(failing)
    character = new_character(failing, user)
    path = f"/api/v1/characters/{character}/messages"
    body = {"text": "Are you there?", "client_message_id": "once"}
    first, again = (failing.post(path, headers=user, json=body) for _ in range(2))
    assert first.status_code == again.status_code == 200
    assert first.json()["reply"] == again.json()["reply"]
    assert again.json()["reply"]["fallback"] is True


def test_a_swipe_and_a_choice_say_whether_their_take_is_the_fallback(
    tmp_path: Path, failing: TestClient[Any]
) -> None:
    user = sign_up(failing)
    character = new_character(failing, user)
    turn = failing.post(
        f"/api/v1/characters/{character}/messages", headers=user, json={"text": "hi"}
    ).json()
    path = f"/api/v1/characters/{character}/messages/{turn['reply']['message_id']}"
    with connect(failing, user) as socket:
        opened(socket)
        swiped = failing.post(f"{path}/regenerate", headers=user)
        assert swiped.status_code == 200, swiped.text
        assert swiped.json()["fallback"] is True
        assert final_reply([socket.receive_json()])["fallback"] is True
        chosen = failing.put(f"{path}/choice", headers=user, json={"alternative": 1})
        assert chosen.json()["fallback"] is True
        assert final_reply([socket.receive_json()])["fallback"] is True
