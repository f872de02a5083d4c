"""The model extractor in the turn: it reads each message after the reply is stored, on its
own worker, so a slow, failing or nonsense-answering extractor never costs the user a reply."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from uuid import UUID

from companion.app.bootstrap import Companion, bootstrap
from companion.domain.characters import Persona
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from companion.domain.memory_values import MemoryCandidate
from tests.support.companions import Companions
from tests.support.openai_standin import MODEL, Completion, Stream, serving
from tests.support.personas import HANA
from tests.support.settings import cheap_settings
from tests.support.users import user_with_character


class GatedExtractor:
    """A model extractor that answers only once the test lets it (or fails, if told to)."""

    name = "model:gated"

    def __init__(self, *, fail: bool = False) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def extract(self, text: str, *, message_id: UUID, now: datetime) -> list[MemoryCandidate]:
        self.asked.set()
        self.release.wait(timeout=30)
        if self.fail:
            raise RuntimeError("the model is down")
        return [
            MemoryCandidate(
                kind="preference",
                key=("likes", "jazz"),
                value="likes",
                text="The user likes jazz",
                importance=0.5,
                source_message_id=message_id,
                extractor=self.name,
                tags=("music", "jazz"),
            )
        ]


def memories(companion: Companion, user: UUID, character: UUID) -> list[tuple[str, str]]:
    try:
        book: MemoryBook = companion.application.repository.get(memory_book_id(user, character))
    except Exception:
        return []
    return [(m.text, m.extractor) for m in book.memories(companion.uow.clock())]


def test_the_reply_is_stored_while_the_extractor_is_still_reading(
    memory_companions: Companions,
) -> None:
    companion = memory_companions()
    extractor = GatedExtractor()
    companion.memories.settings.extractor = extractor
    user, character = user_with_character(companion)

    turn = companion.chat.send_message(
        user_id=user, character_id=character, text="My cat is called Mochi. I listen to jazz."
    )

    assert turn.reply_text
    assert memories(companion, user, character) == [
        ("The user's cat is called Mochi", "rule:en_pet_name")
    ]
    extractor.release.set()
    companion.memories.work.drain()
    assert extractor.asked.is_set()
    assert ("The user likes jazz", "model:gated") in memories(companion, user, character)


def test_a_failing_extractor_costs_nothing_but_its_memories(
    memory_companions: Companions,
) -> None:
    companion = memory_companions()
    extractor = GatedExtractor(fail=True)
    extractor.release.set()
    companion.memories.settings.extractor = extractor
    user, character = user_with_character(companion)

    turn = companion.chat.send_message(
        user_id=user, character_id=character, text="My cat is called Mochi."
    )
    companion.memories.work.drain()

    assert turn.reply_text
    assert memories(companion, user, character) == [
        ("The user's cat is called Mochi", "rule:en_pet_name")
    ]


def answer(*found: dict[str, object]) -> Completion:
    return Completion(json.dumps({"memories": list(found)}))


def test_a_real_model_finds_memories_and_its_malformed_answers_find_none(tmp_path: Path) -> None:
    jazz = {
        "kind": "preference",
        "subject": "likes",
        "attribute": "jazz",
        "value": "likes",
        "text": "The user likes jazz",
        "importance": 0.5,
        "tags": ["music", "jazz"],
        "emotion": None,
    }
    script: list[Stream | Completion] = [
        Stream(pieces=("Jazz, nice!",)),
        answer(jazz),
        Stream(pieces=("Oh?",)),
        Completion('{"memories": [{"kind": "preference", "text": '),
    ]
    with serving(*script) as standin:
        companion = bootstrap(
            cheap_settings(
                database_url="memory://",
                data_dir=tmp_path,
                catalogue_defaults=False,
                llm="openai",
                openai_base_url=standin.base_url,
                openai_model=MODEL,
            )
        )
        try:
            user = companion.accounts.register(
                email="aiko@example.com", password="correct horse battery", name="A", nickname="A"
            )
            character, _ = companion.characters.create_character(
                user_id=user, persona=Persona.parse(**HANA)
            )
            first = companion.chat.send_message(
                user_id=user, character_id=character, text="I listen to jazz every night."
            )
            companion.memories.work.drain()
            second = companion.chat.send_message(
                user_id=user, character_id=character, text="And I play the saxophone."
            )
            companion.memories.work.drain()

            assert (first.reply_text, second.reply_text) == ("Jazz, nice!", "Oh?")
            assert memories(companion, user, character) == [
                ("The user likes jazz", f"model:{MODEL}")
            ]
            extraction = standin.requests[1]
            assert extraction["response_format"] == {"type": "json_object"}
            assert extraction["messages"][-1]["content"] == "I listen to jazz every night."
        finally:
            companion.close()
