"""The turn's kept views of memory books: reused while the book stays the same, built
again when it changes or a memory in it passes its horizon, and ranking the same as a
fresh build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.app.memory_recall import BookViews
from companion.domain.memory import MemoryBook
from companion.domain.memory_values import MemoryCandidate
from companion.domain.recall import recall

USER, CHARACTER = UUID(int=1), UUID(int=2)
T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
WORDS = ("cat", "mochi", "tea", "kyoto", "piano", "exam", "sister", "rain")


def candidate(n: int, words: tuple[str, ...], kind: Any = "preference") -> MemoryCandidate:
    return MemoryCandidate(
        kind=kind,
        key=("fact", str(n)),
        value=" ".join(words),
        text=" ".join(words),
        importance=0.5,
        source_message_id=uuid5(USER, f"message:{n}"),
        extractor="rule:test",
        tags=(),
    )


def book_of(facts: list[tuple[str, ...]], kind: Any = "preference") -> MemoryBook:
    book = MemoryBook(user_id=USER, character_id=CHARACTER)
    for n, words in enumerate(facts):
        book.record(candidate(n, words, kind), T0, lemmas=words)
    return book


def test_a_book_that_did_not_change_is_ranked_over_the_same_view() -> None:
    views = BookViews()
    book = book_of([("cat", "mochi"), ("tea",)])

    first = views.of(book, T0)
    again = views.of(book, T0 + timedelta(minutes=1))

    assert again[0] is first[0]
    assert again[1] is first[1]
    assert len(views) == 1


def test_a_new_version_of_the_book_is_seen() -> None:
    views = BookViews()
    book = book_of([("cat", "mochi")])
    views.of(book, T0)

    book.record(candidate(9, ("piano",)), T0, lemmas=("piano",))
    memories, index = views.of(book, T0)

    assert sorted(m.text for m in memories.values()) == ["cat mochi", "piano"]
    assert index.documents == 2


def test_a_view_is_built_again_once_a_memory_in_it_passed_its_horizon() -> None:
    views = BookViews()
    book = book_of([("exam",)], kind="event")  # short term: seven days
    (memory,) = book.memories(T0)
    assert memory.expires_at is not None
    views.of(book, T0)

    memories, index = views.of(book, memory.expires_at + timedelta(seconds=1))

    assert memories == {}
    assert index.documents == 0


def test_the_least_recently_used_books_leave() -> None:
    views = BookViews(size=2)
    books = [MemoryBook(user_id=USER, character_id=UUID(int=10 + n)) for n in range(3)]
    for book in books:
        book.record(candidate(0, ("tea",)), T0, lemmas=("tea",))
        views.of(book, T0)
    assert len(views) == 2


facts = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(tuple), max_size=12)


@given(facts=facts, question=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
@settings(max_examples=60, deadline=None)
def test_ranking_over_a_kept_view_is_ranking_over_the_book(
    facts: list[tuple[str, ...]], question: list[str]
) -> None:
    book = book_of(facts)
    views = BookViews()
    views.of(book, T0)  # kept from an earlier message
    memories, index = views.of(book, T0)

    kept = recall(memories, question, T0, today=T0.date(), index=index)
    fresh = recall(book.memories(T0), question, T0, today=T0.date())

    assert kept == fresh
