"""A companion with COMPANION_LLM=openai, pointed at a local OpenAI-compatible stand-in.

The whole way: the REST turn, the real SDK, real HTTP and SSE on 127.0.0.1,
and the reply recorded in CompanionReplied with its model, latencies and tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.adapters.llm.openai_chat import OpenAIChatModel
from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap, chat_model_for
from companion.app.settings import SettingsError
from tests.support.api import api_settings, new_character, sign_up
from tests.support.openai_standin import MODEL, StandIn, Status, Stream, serving


def replies(companion: Companion) -> list[Any]:
    app = companion.application
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    return [e for e in events if type(e).__name__ == "CompanionReplied"]


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with serving(Stream(pieces=("Hi Ai,", " I missed you!"), usage=(120, 9))) as standin:
        yield standin


@pytest.fixture
def companion(tmp_path: Path, standin: StandIn) -> Iterator[Companion]:
    settings = api_settings(
        tmp_path,
        llm="openai",
        openai_base_url=standin.base_url,
        openai_model=MODEL,
        llm_retries=1,
        llm_timeout_seconds=2,
    )
    companion = bootstrap(settings)
    yield companion
    companion.close()


@pytest.fixture
def client(companion: Companion) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(companion)) as client:
        yield client


def chat(client: TestClient[Any], text: str) -> Any:
    user = sign_up(client)
    character = new_character(client, user)
    turn = client.post(
        f"/api/v1/characters/{character}/messages", headers=user, json={"text": text}
    )
    assert turn.status_code == 200, turn.text
    return turn.json()


def test_a_rest_turn_answers_with_the_models_text_and_records_how_it_went(
    client: TestClient[Any], companion: Companion, standin: StandIn
) -> None:
    body = chat(client, "I'm home!")

    assert body["reply"]["text"] == "Hi Ai, I missed you!"
    (replied,) = replies(companion)
    assert replied.text == "Hi Ai, I missed you!"
    assert replied.model == MODEL
    assert replied.fallback is False
    assert (replied.prompt_tokens, replied.completion_tokens) == (120, 9)
    assert replied.first_token_ms is not None
    assert 0 <= replied.first_token_ms <= replied.latency_ms
    sent = standin.requests[0]["messages"]
    assert sent[-1] == {"role": "user", "content": "I'm home!"}
    assert "Hana" in sent[0]["content"]


def test_a_model_that_keeps_failing_gets_the_fallback_recorded_as_such(
    client: TestClient[Any], companion: Companion, standin: StandIn
) -> None:
    standin.script[:] = [Status(503)]

    body = chat(client, "Are you there?")

    (replied,) = replies(companion)
    assert replied.fallback is True
    assert replied.model == MODEL
    assert body["reply"]["text"] == replied.text
    assert "Ai" in replied.text
    assert len(standin.requests) == 2


def test_openai_without_a_key_or_a_base_url_stops_with_one_line_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SettingsError, match="OPENAI_API_KEY") as raised:
        chat_model_for(api_settings(tmp_path, llm="openai"))
    assert "\n" not in str(raised.value)


def test_a_local_server_needs_no_key_and_a_key_is_never_shown(tmp_path: Path) -> None:
    local = chat_model_for(
        api_settings(tmp_path, llm="openai", openai_base_url="http://127.0.0.1:11434/v1")
    )
    assert isinstance(local, OpenAIChatModel)
    assert local.api_key

    keyed = chat_model_for(api_settings(tmp_path, llm="openai", OPENAI_API_KEY="sk-very-secret"))
    assert isinstance(keyed, OpenAIChatModel)
    assert keyed.model == "gpt-4o-mini"
    assert "sk-very-secret" not in repr(keyed)
    assert "sk-very-secret" not in repr(api_settings(tmp_path, OPENAI_API_KEY="sk-very-secret"))


def test_the_default_is_the_offline_responder(tmp_path: Path) -> None:
    assert chat_model_for(api_settings(tmp_path)).name == "offline-persona"


def test_a_context_too_small_for_the_reply_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="COMPANION_MODEL_CONTEXT_TOKENS"):
        api_settings(tmp_path, model_context_tokens=600, reply_max_tokens=512)
