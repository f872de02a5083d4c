"""Retrieval: relevance × importance × recency, top k, deterministic, never what is gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.lemmas import PlainLemmatizer
from companion.domain.memory import MemoryBook
from companion.domain.memory_values import Memory, MemoryCandidate
from companion.domain.retrieval import LexicalIndex, cosine, retrieve, similarities

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
USER = UUID(int=7)
WORDS = ["cat", "dog", "name", "birthday", "tea", "coffee", "job", "nurse", "osaka", "mochi"]


def memory(n: int, text: str, *, importance: float = 0.5, at: datetime = T0) -> Memory:
    return Memory(
        memory_id=uuid5(USER, f"memory:{n}"),
        kind="preference",
        key=("fact", str(n)),
        value=str(n),
        text=text,
        importance=importance,
        tags=(),
        emotion=None,
        source_message_ids=(uuid5(USER, f"message:{n}"),),
        extractor="rule:test",
        recorded_at=at,
        last_reinforced_at=at,
        reinforcements=0,
        horizon="long",
        expires_at=at + timedelta(days=365),
        lemmas=tuple(PlainLemmatizer().lemmas(text)),
        supersedes=None,
    )


def test_the_memory_that_shares_the_questions_words_comes_first() -> None:
    memories = [
        memory(1, "The user likes green tea"),
        memory(2, "The user's cat is called Mochi"),
        memory(3, "The user works as a nurse"),
    ]

    [best, *_] = retrieve(memories, ["cat", "name"], T0)

    assert best.memory.text == "The user's cat is called Mochi"
    assert best.relevance == 1.0
    assert best.score == pytest.approx(best.relevance * best.importance * best.recency)


def test_nothing_unrelated_is_retrieved_for_a_question_with_terms() -> None:
    memories = [memory(1, "The user likes green tea")]

    assert retrieve(memories, ["volcano"], T0) == []


def test_an_open_query_ranks_by_importance_and_recency() -> None:
    memories = [
        memory(1, "old and important", importance=0.9, at=T0 - timedelta(days=200)),
        memory(2, "fresh and important", importance=0.9),
        memory(3, "fresh and trivial", importance=0.2),
    ]

    ranked = [s.memory.text for s in retrieve(memories, [], T0)]

    assert ranked == ["fresh and important", "old and important", "fresh and trivial"]


def test_importance_and_recency_break_an_equal_relevance() -> None:
    memories = [
        memory(1, "the cat sleeps", importance=0.3),
        memory(2, "the cat plays", importance=0.8),
        memory(3, "the cat eats", importance=0.8, at=T0 - timedelta(days=60)),
    ]

    ranked = [s.memory.text for s in retrieve(memories, ["cat"], T0)]

    assert ranked == ["the cat plays", "the cat eats", "the cat sleeps"]


def test_a_memory_past_its_horizon_is_never_retrieved() -> None:
    stale = memory(1, "the cat", at=T0 - timedelta(days=400))
    kept = {stale.memory_id: stale}

    assert retrieve([stale], ["cat"], T0) == []
    assert retrieve(kept, ["cat"], T0, index=LexicalIndex.of([stale])) == []
    assert retrieve(kept, [], T0) == []


def test_a_kept_index_gives_the_same_answer_as_one_built_per_call() -> None:
    memories = [memory(n, f"{WORDS[n % 10]} {WORDS[(n * 3) % 10]} {n}") for n in range(40)]
    index = LexicalIndex()
    for m in memories:
        index.add(m.memory_id, m.lemmas)
    index.add(uuid5(USER, "gone"), ["cat", "cat", "dog"])
    index.remove(uuid5(USER, "gone"))

    assert retrieve(memories, ["cat", "job"], T0, index=index) == retrieve(
        memories, ["cat", "job"], T0
    )
    assert index == LexicalIndex.of(memories)


def test_vector_similarity_mixes_with_the_lexical_score() -> None:
    memories = [memory(1, "The user likes green tea"), memory(2, "The user adores matcha")]
    scores = {memories[0].memory_id: 0.1, memories[1].memory_id: 0.9}

    [tea, matcha] = retrieve(memories, ["tea"], T0, embedding_scores=scores)
    [first, _] = retrieve(memories, ["tea"], T0, embedding_scores=scores, lexical_weight=0.2)

    assert tea.memory.text == "The user likes green tea"
    assert tea.relevance == pytest.approx(0.5 * 1.0 + 0.5 * 0.1)
    assert matcha.relevance == pytest.approx(0.5 * 0.0 + 0.5 * 0.9)
    assert (matcha.lexical, matcha.semantic) == (0.0, 0.9)
    assert first.memory.text == "The user adores matcha"


def test_cosine_and_similarities() -> None:
    assert cosine([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 1.0]) == 0.0
    assert cosine([0.0, 0.0], [1.0, 1.0]) == 0.0
    assert cosine([1.0], [1.0, 2.0]) == 0.0
    assert similarities([1.0, 0.0], {UUID(int=1): [2.0, 0.0]}) == {UUID(int=1): 1.0}


# -- properties ----------------------------------------------------------------------------

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
libraries = st.lists(
    st.tuples(texts, st.floats(0.0, 1.0), st.integers(0, 400)), min_size=0, max_size=25
)
queries = st.lists(st.sampled_from([*WORDS, "volcano"]), max_size=4)
ks = st.integers(0, 8)


def library(entries: list[tuple[str, float, int]]) -> list[Memory]:
    return [
        memory(n, text, importance=importance, at=T0 - timedelta(days=age))
        for n, (text, importance, age) in enumerate(entries)
    ]


@given(libraries, queries, ks)
def test_retrieval_is_deterministic_sorted_and_at_most_k(
    entries: list[tuple[str, float, int]], query: list[str], k: int
) -> None:
    memories = library(entries)

    first = retrieve(memories, query, T0, k=k)
    shuffled = retrieve(list(reversed(memories)), query, T0, k=k)
    # A projection indexes the live memories; its map may still hold one past its horizon.
    index = LexicalIndex.of(m for m in memories if m.is_live(T0))
    kept = retrieve({m.memory_id: m for m in memories}, query, T0, k=k, index=index)

    assert first == shuffled
    assert [s.memory for s in kept] == [s.memory for s in first]
    assert len(first) <= k
    keys = [(-s.score, str(s.memory.memory_id)) for s in first]
    assert keys == sorted(keys)
    assert all(0.0 <= s.relevance <= 1.0 for s in first)
    assert all(s.score >= 0.0 for s in first)


@given(libraries, queries, st.data())
def test_forgotten_and_superseded_memories_are_never_retrieved(
    entries: list[tuple[str, float, int]], query: list[str], data: st.DataObject
) -> None:
    book = MemoryBook(user_id=USER, character_id=UUID(int=8))
    for n, (text, importance, _) in enumerate(entries):
        book.record(
            MemoryCandidate(
                kind="preference",
                key=("fact", str(n % 5)),  # some facts correct earlier ones
                value=text,
                text=text,
                importance=importance,
                source_message_id=uuid5(USER, f"message:{n}"),
                extractor="rule:test",
            ),
            T0,
        )
    live = book.memories(T0)
    forgotten = data.draw(st.sets(st.sampled_from([m.memory_id for m in live]))) if live else set()
    for memory_id in forgotten:
        book.forget(memory_id, T0)
    gone = set(book.gone)

    found = retrieve(book.memories(T0), query, T0, k=10)

    assert not {str(s.memory.memory_id) for s in found} & gone
