"""What the character recalls for a message: retrieval's best, and a plan that is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from companion.domain.lemmas import PlainLemmatizer
from companion.domain.memory import MemoryBook
from companion.domain.memory_values import MemoryCandidate
from companion.domain.recall import recall

NOW = datetime(2026, 4, 6, 3, tzinfo=UTC)
LEMMAS = PlainLemmatizer()


def book_of(*facts: tuple[tuple[str, ...], str, str]) -> MemoryBook:
    book = MemoryBook(user_id=UUID(int=1), character_id=UUID(int=2))
    for n, (key, value, text) in enumerate(facts):
        kind = "event" if key[0] == "plan" else "preference"
        candidate = MemoryCandidate(
            kind=kind,
            key=key,
            value=value,
            text=text,
            importance=0.6,
            source_message_id=UUID(int=100 + n),
            extractor="rule:test",
        )
        book.record(candidate, NOW - timedelta(days=1), lemmatizer=LEMMAS)
    return book


def test_a_question_recalls_what_shares_its_words_best_first() -> None:
    book = book_of(
        (("pet", "cat", "name"), "Mochi", "The user's cat is called Mochi"),
        (("likes", "coffee"), "likes", "The user likes coffee"),
    )

    found = recall(book.memories(NOW), LEMMAS.lemmas("what about my cat?"), NOW, today=NOW.date())

    assert [m.text for m in found] == ["The user's cat is called Mochi"]
    assert found[0].score > 0


def test_a_greeting_recalls_nothing_but_a_plan_for_today_or_yesterday() -> None:
    today = NOW.date()
    book = book_of(
        (("pet", "cat", "name"), "Mochi", "The user's cat is called Mochi"),
        (("plan", today.isoformat(), "dentist"), "dentist", "The user's plan: dentist"),
        (("plan", (today + timedelta(days=3)).isoformat(), "trip"), "trip", "The user's trip"),
    )

    found = recall(book.memories(NOW), [], NOW, today=today)
    later = recall(book.memories(NOW), [], NOW, today=today + timedelta(days=2))

    assert [(m.subject, m.value) for m in found] == [("plan", "dentist")]
    assert later == ()


def test_never_more_than_k_and_the_plan_only_once() -> None:
    today = NOW.date()
    book = book_of(
        *((("likes", f"cake {n}"), "likes", f"The user likes cake {n}") for n in range(8)),
        (("plan", today.isoformat(), "cake"), "cake", "The user's plan: bake a cake"),
    )

    found = recall(book.memories(NOW), ["bake", "cake"], NOW, today=today, k=3)

    assert len(found) == 3
    assert found[0].subject == "plan"
    assert [m.subject for m in found].count("plan") == 1
