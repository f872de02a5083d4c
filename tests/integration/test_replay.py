"""`companion replay reply`: a stored reply's prompt rebuilt from the log and asked again, the
old and the new reply side by side, and not one event written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from companion.domain.characters import Persona
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from tests.support.cli import cli, ok, open_companion
from tests.support.openai_standin import Stream, serving
from tests.support.personas import HANA

pytestmark = pytest.mark.usefixtures("cli_environment")


@dataclass(frozen=True)
class Told:
    user_id: UUID
    character_id: UUID
    reply_id: UUID
    reply_text: str
    memory_id: UUID


def told_and_asked(url: str, tmp_path: Path) -> Told:
    """A cat's name told, some turns, then asked about; the read models caught up."""
    companion = open_companion(url, tmp_path)
    try:
        application = companion.application
        user_id = companion.accounts.register(
            email="aiko@example.com", password="correct horse battery", name="Aiko", nickname="Ai"
        )
        character_id, _ = companion.characters.create_character(
            user_id=user_id, persona=Persona.parse(**HANA)
        )
        for text in ("My cat is called Mochi.", "I went to work.", "It rained all day."):
            companion.chat.send_message(user_id=user_id, character_id=character_id, text=text)
        turn = companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="Do you remember my cat?"
        )
        book: MemoryBook = application.repository.get(memory_book_id(user_id, character_id))
        [memory] = book.memories(companion.uow.clock())
        companion.runner.run_once()
        return Told(user_id, character_id, turn.reply_message_id, turn.reply_text, memory.memory_id)
    finally:
        companion.close()


def events_in(url: str, tmp_path: Path) -> int:
    companion = open_companion(url, tmp_path)
    try:
        return companion.application.recorder.max_notification_id() or 0
    finally:
        companion.close()


def replayed(url: str, *args: str) -> Any:
    return json.loads(ok(url, "replay", "reply", *args, "--format", "json").stdout)


def test_the_same_model_given_the_rebuilt_prompt_says_the_same_and_nothing_is_written(
    sqlite_url: str, tmp_path: Path
) -> None:
    told = told_and_asked(sqlite_url, tmp_path)
    before = events_in(sqlite_url, tmp_path)

    answer = replayed(sqlite_url, str(told.reply_id), "--model", "offline")

    assert "Mochi" in told.reply_text
    assert answer["old"] == {"model": "offline-persona", "text": told.reply_text}
    assert answer["new"] == answer["old"]
    assert answer["memories"] == [str(told.memory_id)]
    assert events_in(sqlite_url, tmp_path) == before
    side_by_side = ok(sqlite_url, "replay", "reply", str(told.reply_id)).stdout
    assert "as stored (offline-persona)" in side_by_side
    assert "replayed (offline-persona)" in side_by_side
    assert events_in(sqlite_url, tmp_path) == before


def test_another_model_is_asked_the_prompt_as_it_was_without_what_was_forgotten_since(
    sqlite_url: str, tmp_path: Path
) -> None:
    told = told_and_asked(sqlite_url, tmp_path)

    with serving(Stream(pieces=("Mochi, ", "of course!"))) as standin:
        answer = replayed(
            sqlite_url,
            str(told.reply_id),
            "--model",
            "standin-7b",
            "--base-url",
            standin.base_url,
            "--character",
            str(told.character_id),
        )
    assert answer["new"] == {"model": "standin-7b", "text": "Mochi, of course!"}
    [asked] = standin.requests
    assert asked["model"] == "standin-7b"
    messages = asked["messages"]
    assert "The user's cat is called Mochi" in messages[0]["content"]
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * 3, "user"]
    assert messages[1]["content"] == "My cat is called Mochi."
    assert messages[-1] == {"role": "user", "content": "Do you remember my cat?"}

    companion = open_companion(sqlite_url, tmp_path)
    try:
        companion.memories.forget(
            user_id=told.user_id,
            character_id=told.character_id,
            memory_id=told.memory_id,
        )
    finally:
        companion.close()
    before = events_in(sqlite_url, tmp_path)
    with serving(Stream(pieces=("Hmm?",))) as standin:
        again = replayed(
            sqlite_url, str(told.reply_id), "--model", "standin-7b", "--base-url", standin.base_url
        )
    assert again["memories"] == []
    assert again["memories_forgotten_since"] == 1
    assert "Mochi" not in standin.requests[0]["messages"][0]["content"]
    assert events_in(sqlite_url, tmp_path) == before


def test_a_message_that_is_not_a_reply_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    told = told_and_asked(sqlite_url, tmp_path)

    refused = cli(
        sqlite_url, "replay", "reply", str(told.user_id), "--character", str(told.character_id)
    )

    assert refused.exit_code == 1
    assert "no such reply" in refused.output
