"""Embeddings in the turn, against the stand-in's `/embeddings`: a memory gets its vector
after the reply, a question that shares no word with it finds it through that vector, a
failing or slow `/embeddings` leaves the turn lexical (never without its reply), and a
forgotten memory's vector goes with it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from companion.app.bootstrap import Companion, bootstrap
from companion.domain.characters import Persona
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from tests.support.openai_standin import (
    MODEL,
    Answer,
    Embeddings,
    StandIn,
    Status,
    Stream,
    serving,
)
from tests.support.personas import HANA
from tests.support.settings import cheap_settings

EMBEDDING_MODEL = "standin-embed"
FACT = "The user's cat is called Mochi"
TOLD = "My cat is called Mochi."
ASKED = "How is my little furry friend?"
"""Not one word in common with the fact; the stand-in's vectors make them alike."""
ALIKE = Embeddings(alike={"little": "cat", "furry": "cat", "friend": "cat"})


@contextmanager
def chatting(
    tmp_path: Path, embeddings: list[Answer], **settings: Any
) -> Iterator[tuple[StandIn, Companion, UUID, UUID]]:
    with serving(Stream(pieces=("Mm!",)), embeddings=embeddings) as standin:
        companion = bootstrap(
            cheap_settings(
                database_url="memory://",
                data_dir=tmp_path,
                catalogue_defaults=False,
                llm="openai",
                openai_base_url=standin.base_url,
                openai_model=MODEL,
                memory_model_extraction=False,
                **settings,
            )
        )
        try:
            user = companion.accounts.register(
                email="aiko@example.com", password="correct horse battery", name="A", nickname="A"
            )
            character, _ = companion.characters.create_character(
                user_id=user, persona=Persona.parse(**HANA)
            )
            yield standin, companion, user, character
        finally:
            companion.close()


def say(companion: Companion, user: UUID, character: UUID, text: str) -> str:
    turn = companion.chat.send_message(user_id=user, character_id=character, text=text)
    companion.memories.work.drain()
    return turn.reply_text


def prompted(standin: StandIn) -> str:
    """The last chat request's messages, as one text."""
    return json.dumps(standin.requests[-1]["messages"], ensure_ascii=False)


def book(companion: Companion, user: UUID, character: UUID) -> MemoryBook:
    found: MemoryBook = companion.application.repository.get(memory_book_id(user, character))
    return found


def test_a_question_in_other_words_finds_the_memory_through_its_vector(tmp_path: Path) -> None:
    with chatting(tmp_path, [ALIKE], openai_embedding_model=EMBEDDING_MODEL) as (
        standin,
        companion,
        user,
        character,
    ):
        say(companion, user, character, TOLD)
        # After the reply, the worker gave the new memory its vector (the turn asked nothing:
        # the book had no vectors yet).
        assert [r["input"] for r in standin.embedding_requests] == [[FACT]]
        now = companion.uow.clock()
        stored = book(companion, user, character)
        (memory,) = stored.memories(now)
        assert set(stored.vectors(f"embeddings:{EMBEDDING_MODEL}", now)) == {memory.memory_id}

        turn = companion.chat.send_message(user_id=user, character_id=character, text=ASKED)

        assert turn.reply_text == "Mm!"
        assert standin.embedding_requests[1]["input"] == [ASKED]
        assert FACT in prompted(standin)
        # Another take of the reply recalls the same way.
        companion.alternatives.regenerate_reply(
            user_id=user, character_id=character, message_id=turn.reply_message_id
        )
        assert standin.embedding_requests[-1]["input"] == [ASKED]
        assert FACT in prompted(standin)


def test_without_embeddings_the_same_question_finds_nothing(tmp_path: Path) -> None:
    with chatting(tmp_path, [ALIKE]) as (standin, companion, user, character):
        say(companion, user, character, TOLD)
        say(companion, user, character, ASKED)

        assert standin.embedding_requests == []
        assert FACT not in prompted(standin)
        # Lexical recall still works: the check above is not blind.
        say(companion, user, character, "What is my cat called?")
        assert FACT in prompted(standin)


def test_a_failing_embeddings_answer_leaves_the_turn_lexical(tmp_path: Path) -> None:
    with chatting(tmp_path, [ALIKE, Status(500)], openai_embedding_model=EMBEDDING_MODEL) as (
        standin,
        companion,
        user,
        character,
    ):
        say(companion, user, character, TOLD)

        assert say(companion, user, character, ASKED) == "Mm!"
        assert FACT not in prompted(standin)
        assert say(companion, user, character, "What is my cat called?") == "Mm!"
        assert FACT in prompted(standin)
        assert len(standin.embedding_requests) == 3


def test_a_slow_embeddings_answer_leaves_the_turn_lexical(tmp_path: Path) -> None:
    slow = Embeddings(alike=ALIKE.alike, delay=2.0)
    with chatting(
        tmp_path,
        [ALIKE, slow],
        openai_embedding_model=EMBEDDING_MODEL,
        memory_embedding_timeout_seconds=0.2,
    ) as (standin, companion, user, character):
        say(companion, user, character, TOLD)

        assert say(companion, user, character, ASKED) == "Mm!"
        assert standin.embedding_requests[1]["input"] == [ASKED]
        assert FACT not in prompted(standin)


def test_a_forgotten_memory_is_never_recalled_through_its_vector(tmp_path: Path) -> None:
    with chatting(tmp_path, [ALIKE], openai_embedding_model=EMBEDDING_MODEL) as (
        standin,
        companion,
        user,
        character,
    ):
        say(companion, user, character, TOLD)
        now = companion.uow.clock()
        (memory,) = book(companion, user, character).memories(now)
        companion.memories.forget(user_id=user, character_id=character, memory_id=memory.memory_id)
        say(companion, user, character, "My dog is called Pochi.")

        say(companion, user, character, ASKED)

        # The dog's memory has a vector, so the question was embedded and compared.
        assert standin.embedding_requests[-1]["input"] == [ASKED]
        assert FACT not in prompted(standin)
        stored = book(companion, user, character)
        assert memory.memory_id not in stored.vectors(f"embeddings:{EMBEDDING_MODEL}", now)


DOG = "The user's dog is called Pochi"


def test_a_vector_only_faintly_alike_relates_nothing(tmp_path: Path) -> None:
    """Embedding models give nearly every pair of texts a positive similarity: below
    COMPANION_MEMORY_EMBEDDING_MIN_SIMILARITY a vector brings no memory to the prompt."""
    with chatting(tmp_path, [ALIKE], openai_embedding_model=EMBEDDING_MODEL) as (
        standin,
        companion,
        user,
        character,
    ):
        say(companion, user, character, TOLD)
        say(companion, user, character, "My dog is called Pochi.")
        say(companion, user, character, ASKED)

        assert standin.embedding_requests[-1]["input"] == [ASKED]
        assert FACT in prompted(standin)
        assert DOG not in prompted(standin)


def test_with_no_floor_every_faint_likeness_comes(tmp_path: Path) -> None:
    """The floor is what keeps the dog out above: without it, the word they share is enough."""
    with chatting(
        tmp_path,
        [ALIKE],
        openai_embedding_model=EMBEDDING_MODEL,
        memory_embedding_min_similarity=0.0,
    ) as (standin, companion, user, character):
        say(companion, user, character, TOLD)
        say(companion, user, character, "My dog is called Pochi.")
        say(companion, user, character, ASKED)

        assert FACT in prompted(standin)
        assert DOG in prompted(standin)
