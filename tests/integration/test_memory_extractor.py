"""The model memory extractor and the embeddings adapter against the local stand-in server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from structlog.testing import capture_logs

from companion.adapters.llm.embeddings import OpenAIEmbedder
from companion.adapters.llm.memory_extractor import OpenAIMemoryExtractor
from companion.domain.memory import MemoryBook
from companion.domain.retrieval import retrieve, similarities
from tests.support.openai_standin import (
    MODEL,
    Completion,
    Embeddings,
    Raw,
    Status,
    serving,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

GOOD_ANSWER = {
    "memories": [
        {
            "kind": "relationship",
            "subject": "pet",
            "attribute": "name",
            "value": "Mochi",
            "text": "The user's cat is called Mochi",
            "importance": 0.8,
            "tags": ["cat", "猫", "pet"],
            "emotion": "affection",
        },
        {
            "kind": "preference",
            "subject": "likes",
            "attribute": "rainy days",
            "value": "likes",
            "text": "The user likes rainy days",
            "importance": 0.4,
            "tags": [],
            "emotion": None,
        },
    ]
}


def extractor(base_url: str) -> OpenAIMemoryExtractor:
    return OpenAIMemoryExtractor(api_key="", model=MODEL, base_url=base_url, timeout=5)


def test_the_models_json_becomes_candidates_with_their_provenance() -> None:
    message_id = uuid4()
    with serving(Completion(json.dumps(GOOD_ANSWER))) as standin:
        candidates = extractor(standin.base_url).extract(
            "My cat Mochi loves rainy days, and so do I", message_id=message_id, now=NOW
        )

    assert [(c.kind, c.key, c.value, c.importance) for c in candidates] == [
        ("relationship", ("pet", "name"), "Mochi", 0.8),
        ("preference", ("likes", "rainy days"), "likes", 0.4),
    ]
    assert {c.extractor for c in candidates} == {f"model:{MODEL}"}
    assert {c.source_message_id for c in candidates} == {message_id}
    assert candidates[0].emotion == "affection"
    request = standin.requests[0]
    assert request["response_format"] == {"type": "json_object"}
    assert request["messages"][-1] == {
        "role": "user",
        "content": "My cat Mochi loves rainy days, and so do I",
    }


def test_the_async_extraction_reads_the_same_answer() -> None:
    with serving(Completion(json.dumps(GOOD_ANSWER))) as standin:
        candidates = asyncio.run(
            extractor(standin.base_url).extract_async("…", message_id=uuid4(), now=NOW)
        )

    assert [c.value for c in candidates] == ["Mochi", "likes"]


MALFORMED = {
    "not json": Completion('{"memories": [{"kind": "relationship", "subject": "pet"'),
    "prose": Completion("Sure! The user has a cat called Mochi."),
    "no content": Completion(None),
    "wrong shape": Completion(json.dumps({"facts": ["cat: Mochi"]})),
    "unknown kind": Completion(
        json.dumps({"memories": [{**GOOD_ANSWER["memories"][0], "kind": "secret"}]})
    ),
    "importance out of range": Completion(
        json.dumps(
            {
                "memories": [
                    GOOD_ANSWER["memories"][1],
                    {**GOOD_ANSWER["memories"][0], "importance": 7},
                ]
            }
        )
    ),
    "empty text": Completion(
        json.dumps({"memories": [{**GOOD_ANSWER["memories"][0], "text": "   "}]})
    ),
    "a list, not an object": Completion(json.dumps(GOOD_ANSWER["memories"])),
    "no completion at all": Raw('{"hello": "world"}'),
    "not even json": Raw("<html>oops</html>", content_type="text/html"),
    "server error": Status(500),
    "unauthorised": Status(401),
}


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_or_a_failed_call_yields_no_memory_and_no_error(
    answer: Completion | Raw | Status,
) -> None:
    with serving(answer) as standin, capture_logs() as logs:
        candidates = extractor(standin.base_url).extract(
            "My cat is called Mochi", message_id=uuid4(), now=NOW
        )

    assert candidates == []
    assert len(standin.requests) == 1
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["event"] in (
        "memory_extractor.malformed_answer",
        "memory_extractor.empty_answer",
        "memory_extractor.call_failed",
    )
    assert "Mochi" not in repr(logs)


def test_model_memories_go_into_the_book_like_the_rules_ones() -> None:
    book = MemoryBook(user_id=uuid4(), character_id=uuid4())
    message_id = uuid4()
    with serving(Completion(json.dumps(GOOD_ANSWER))) as standin:
        for candidate in extractor(standin.base_url).extract("…", message_id=message_id, now=NOW):
            book.record(candidate, NOW)

    [cat, rain] = book.memories(NOW)
    assert cat.text == "The user's cat is called Mochi"
    assert cat.source_message_ids == (message_id,)
    assert cat.extractor == rain.extractor == f"model:{MODEL}"


# -- embeddings ------------------------------------------------------------------------------


def test_embeddings_give_one_vector_per_text_in_order() -> None:
    with serving(Embeddings(vectors=[[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])) as standin:
        embedder = OpenAIEmbedder(api_key="", model="standin-embed", base_url=standin.base_url)
        vectors = embedder.embed(["a", "b", "c"])

    assert vectors == [(1.0, 0.0), (0.0, 1.0), (0.6, 0.8)]
    assert standin.requests[0]["model"] == "standin-embed"
    assert standin.requests[0]["input"] == ["a", "b", "c"]


BAD_EMBEDDINGS = {
    "server error": Status(503),
    "one vector short": Embeddings(vectors=[[1.0, 0.0]]),
    "ragged vectors": Embeddings(vectors=[[1.0, 0.0], [1.0]]),
    "no embeddings at all": Raw('{"object": "list"}'),
}


@pytest.mark.parametrize("answer", BAD_EMBEDDINGS.values(), ids=BAD_EMBEDDINGS.keys())
def test_a_failed_or_malformed_embeddings_answer_is_none(answer: Embeddings | Raw | Status) -> None:
    with serving(answer) as standin:
        embedder = OpenAIEmbedder(api_key="", base_url=standin.base_url)
        assert embedder.embed(["a", "b"]) is None


def test_vector_similarity_lifts_a_memory_no_word_of_the_question_matches() -> None:
    book = MemoryBook(user_id=uuid4(), character_id=uuid4())
    with serving(Completion(json.dumps(GOOD_ANSWER)), Embeddings()) as standin:
        for candidate in extractor(standin.base_url).extract("…", message_id=uuid4(), now=NOW):
            book.record(candidate, NOW)
        memories = book.memories(NOW)
        embedder = OpenAIEmbedder(api_key="", base_url=standin.base_url)
        vectors = embedder.embed([m.text for m in memories] + ["the user likes rainy weather"])
    assert vectors is not None
    *memory_vectors, question = vectors
    scores = similarities(
        question, {m.memory_id: v for m, v in zip(memories, memory_vectors, strict=True)}
    )

    # "weather" is no lemma of either memory; the vectors still find the rainy days.
    lexical_only = retrieve(memories, ["weather"], NOW)
    with_vectors = retrieve(memories, ["weather"], NOW, embedding_scores=scores)

    assert lexical_only == []
    assert with_vectors[0].memory.text == "The user likes rainy days"
    assert with_vectors[0].semantic is not None
    assert with_vectors[0].semantic > 0.5
