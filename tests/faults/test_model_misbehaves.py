"""The model server hangs, cuts its stream or answers garbage: the deadline holds, the
character's fallback answers, and the turn is recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from tests.support.api import api_settings, new_character, sign_up
from tests.support.event_log import recorded
from tests.support.openai_standin import Answer, Raw, Stream, serving

pytestmark = pytest.mark.slow

DEADLINE = 1.5
# Far beyond the deadline, far below a model that never answers (NEVER).
ANSWER_BOUND_SECONDS = 15.0
NEVER = 60.0

MISBEHAVIOURS: dict[str, Answer] = {
    "hangs before answering": Stream(delay=NEVER),
    "hangs mid-stream": Stream(pieces=("Hel", "lo", "!"), stall=NEVER, stall_after=1),
    "closes mid-stream": Stream(pieces=("Hel", "lo", "!"), cut_after=1),
    "answers garbage": Raw("<html>502 Bad Gateway</html>", content_type="text/html"),
    "streams garbage": Raw("data: {not json\n\ndata: [DONE]\n\n", content_type="text/event-stream"),
}


@pytest.fixture
def misbehaving(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Companion]:
    with serving(request.param) as standin:
        companion = bootstrap(
            api_settings(
                tmp_path,
                database_url=f"sqlite:///{tmp_path}/events.db",
                llm="openai",
                openai_base_url=standin.base_url,
                llm_deadline_seconds=DEADLINE,
                llm_first_token_seconds=0.5,
                llm_timeout_seconds=0.5,
            )
        )
        try:
            yield companion
        finally:
            companion.close()


@pytest.mark.parametrize(
    "misbehaving", list(MISBEHAVIOURS.values()), ids=list(MISBEHAVIOURS), indirect=True
)
def test_a_misbehaving_model_gets_the_fallback_recorded_within_the_deadline(
    misbehaving: Companion,
) -> None:
    with TestClient(create_app(misbehaving)) as client:
        user = sign_up(client)
        character = new_character(client, user)
        started = time.monotonic()
        answer = client.post(
            f"/api/v1/characters/{character}/messages",
            headers=user,
            json={"text": "are you there?", "client_message_id": "fault-1"},
        )
        took = time.monotonic() - started
        sent = recorded(misbehaving, ".UserMessageSent")
        replied = recorded(misbehaving, ".CompanionReplied")
    assert answer.status_code == 200, answer.text
    assert took < ANSWER_BOUND_SECONDS, took
    turn: dict[str, Any] = answer.json()
    assert turn["reply"]["fallback"] is True, turn
    assert [(e.text, e.client_message_id) for e in sent] == [("are you there?", "fault-1")]
    assert [(e.text, e.fallback) for e in replied] == [(turn["reply"]["text"], True)]
