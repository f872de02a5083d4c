"""A REST turn whose model never answers gets the in-character fallback within the deadline.

The whole way from COMPANION_LLM_DEADLINE_SECONDS: the settings, the model
bootstrap wires, the real SDK against a stand-in that never answers, and the
reply recorded as a fallback. The model's call is timed on its own: the turn
around it also logs the failure with its traceback, which takes its own time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from companion.adapters.llm.openai_chat import OpenAIChatModel
from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap, chat_model_for
from companion.domain.chat import ChatModel, ChatReply, ChatRequest
from tests.support.api import api_settings, new_character, sign_up
from tests.support.openai_standin import MODEL, Stream, serving

DEADLINE = 1.5


class Timed:
    """The bootstrapped model, with how long each of its calls took, however it ended."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = model.name
        self.seconds: list[float] = []

    def reply(self, request: ChatRequest) -> ChatReply:
        started = time.perf_counter()
        try:
            return self.model.reply(request)
        finally:
            self.seconds.append(time.perf_counter() - started)


def replies(companion: Companion) -> list[Any]:
    app = companion.application
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    return [e for e in events if type(e).__name__ == "CompanionReplied"]


def test_the_deadline_settings_reach_the_model(tmp_path: Path) -> None:
    model = chat_model_for(
        api_settings(
            tmp_path,
            llm="openai",
            openai_base_url="http://127.0.0.1:9/v1",
            llm_deadline_seconds=12,
            llm_first_token_seconds=3,
        )
    )
    assert isinstance(model, OpenAIChatModel)
    assert (model.deadline, model.first_token_timeout) == (12.0, 3.0)


def test_a_model_that_never_answers_gets_the_fallback_within_the_deadline(tmp_path: Path) -> None:
    # The per-read timeout is far longer than the deadline: only the deadline ends the wait.
    with serving(Stream(delay=60.0)) as standin:
        settings = api_settings(
            tmp_path,
            llm="openai",
            openai_base_url=standin.base_url,
            openai_model=MODEL,
            llm_timeout_seconds=30,
            llm_deadline_seconds=DEADLINE,
        )
        model = Timed(chat_model_for(settings))
        companion = bootstrap(settings, chat_model=model)
        try:
            with TestClient(create_app(companion)) as client:
                user = sign_up(client)
                character = new_character(client, user)
                turn = client.post(
                    f"/api/v1/characters/{character}/messages",
                    headers=user,
                    json={"text": "Are you there?"},
                )
            (replied,) = replies(companion)
        finally:
            companion.close()

    assert turn.status_code == 200, turn.text
    (took,) = model.seconds
    assert DEADLINE * 0.5 < took < DEADLINE * 3
    assert replied.fallback is True
    assert replied.model == MODEL
    assert turn.json()["reply"]["text"] == replied.text
    assert "Ai" in replied.text
