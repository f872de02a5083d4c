"""A reply's provenance over HTTP: exactly what its prompt was built from, and nobody else's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from companion.adapters.llm.offline import OfflinePersonaResponder
from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.prompt import PromptBudget, build_prompt
from tests.support.api import api_settings, new_character, sign_up


class RecordingResponder(OfflinePersonaResponder):
    """The offline companion, keeping every request it was given."""

    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []

    def reply(self, request: ChatRequest) -> ChatReply:
        self.requests.append(request)
        return super().reply(request)


@pytest.fixture
def model() -> RecordingResponder:
    return RecordingResponder()


@pytest.fixture
def companion(tmp_path: Path, model: RecordingResponder) -> Iterator[Companion]:
    companion = bootstrap(api_settings(tmp_path), chat_model=model)
    yield companion
    companion.close()


@pytest.fixture
def client(companion: Companion) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(companion)) as client:
        yield client


def send(client: TestClient[Any], headers: dict[str, str], character: str, text: str) -> Any:
    turn = client.post(
        f"/api/v1/characters/{character}/messages", headers=headers, json={"text": text}
    )
    assert turn.status_code == 200, turn.text
    return turn.json()


def provenance(
    client: TestClient[Any], headers: dict[str, str], character: str, message: str
) -> Any:
    return client.get(
        f"/api/v1/characters/{character}/messages/{message}/provenance", headers=headers
    )


def test_the_provenance_names_what_the_prompt_was_built_from(
    client: TestClient[Any], companion: Companion, model: RecordingResponder
) -> None:
    user = sign_up(client)
    character = new_character(client, user)
    turns = [send(client, user, character, text) for text in ("hi", "I went hiking", "tired")]

    answer = provenance(client, user, character, turns[-1]["reply"]["message_id"])

    assert answer.status_code == 200, answer.text
    body = answer.json()
    asked = model.requests[-1]
    prompt = build_prompt(asked, PromptBudget())
    kept = asked.recent_turns[len(asked.recent_turns) - prompt.kept_turns :]
    assert body["message_id"] == turns[-1]["reply"]["message_id"]
    assert body["in_reply_to"] == turns[-1]["message_id"]
    [take] = body["takes"]
    assert take["alternative"] == 1
    assert take["text"] == turns[-1]["reply"]["text"]
    used = take["prompt"]
    assert used["recent_turns"] == [str(t.message_id) for t in kept]
    assert used["recent_turns"] == [
        turns[0]["message_id"],
        turns[0]["reply"]["message_id"],
        turns[1]["message_id"],
        turns[1]["reply"]["message_id"],
    ]
    assert used["mood"] == asked.mood
    assert used["relationship_level"] == asked.relationship_level
    assert used["daily_event"] == asked.daily_event
    assert used["estimated_tokens"] == prompt.estimated_tokens
    assert used["memories"] == [
        {"memory_id": str(m.memory_id), "score": round(m.score, 6)}
        for m in asked.memories[: prompt.kept_memories]
    ]
    assert used["model"]["model"] == "offline-persona"
    assert used["model"]["max_tokens"] == PromptBudget().reply_tokens
    me = UUID(client.get("/api/v1/me", headers=user).json()["user_id"])
    stored = companion.characters.character(user_id=me, character_id=UUID(character))
    assert used["persona_version"] == stored.version


def test_a_regenerated_reply_has_the_provenance_of_each_take(
    client: TestClient[Any], model: RecordingResponder
) -> None:
    user = sign_up(client)
    character = new_character(client, user)
    send(client, user, character, "hello")
    turn = send(client, user, character, "what did you do today?")
    reply = turn["reply"]["message_id"]
    regenerated = client.post(
        f"/api/v1/characters/{character}/messages/{reply}/regenerate", headers=user
    )
    assert regenerated.status_code == 200

    takes = provenance(client, user, character, reply).json()["takes"]

    assert [t["alternative"] for t in takes] == [1, 2]
    assert takes[1]["text"] == regenerated.json()["text"]
    first, second = (t["prompt"] for t in takes)
    assert second["recent_turns"] == first["recent_turns"]
    assert second["in_reply_to"] == first["in_reply_to"] == turn["message_id"]
    assert model.requests[-1].take == 2


def test_anything_but_a_reply_of_ones_own_conversation_is_not_found_alike(
    client: TestClient[Any],
) -> None:
    owner = sign_up(client)
    character = new_character(client, owner)
    other_character = new_character(client, owner)
    turn = send(client, owner, character, "hello there")
    reply = turn["reply"]["message_id"]
    stranger = sign_up(client)
    strangers_character = new_character(client, stranger)

    answers = {
        "another user": provenance(client, stranger, character, reply),
        "another user, their own character": provenance(
            client, stranger, strangers_character, reply
        ),
        "another character": provenance(client, owner, other_character, reply),
        "an unknown message": provenance(client, owner, character, str(uuid4())),
        "the user's own message": provenance(client, owner, character, turn["message_id"]),
    }

    for case, answer in answers.items():
        assert answer.status_code == 404, case
        assert reply not in answer.text, case
        assert "hello" not in answer.text, case
    codes = {case: a.json()["extra"]["code"] for case, a in answers.items()}
    assert codes["another user"] == "character_not_found"
    assert {codes[c] for c in answers if c != "another user"} == {"message_not_found"}
    assert provenance(client, owner, character, reply).status_code == 200


def test_a_reply_keeps_its_provenance_once_read_regenerated_and_chosen(
    client: TestClient[Any], companion: Companion
) -> None:
    user = sign_up(client)
    character = new_character(client, user)
    turn = send(client, user, character, "I went hiking")
    reply = turn["reply"]["message_id"]
    me = client.get("/api/v1/me", headers=user).json()

    companion.chat.mark_read(
        user_id=UUID(me["user_id"]), character_id=UUID(character), message_id=UUID(reply)
    )
    assert provenance(client, user, character, reply).status_code == 200

    path = f"/api/v1/characters/{character}/messages/{reply}"
    assert client.post(f"{path}/regenerate", headers=user).status_code == 200
    chosen = client.put(f"{path}/choice", headers=user, json={"alternative": 1})
    assert chosen.status_code == 200, chosen.text
    companion.chat.mark_read(
        user_id=UUID(me["user_id"]), character_id=UUID(character), message_id=UUID(reply)
    )

    answer = provenance(client, user, character, reply)
    assert answer.status_code == 200, answer.text
    assert answer.json()["in_reply_to"] == turn["message_id"]
