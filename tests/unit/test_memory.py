"""The memory book: provenance, repeats, corrections, forgetting, horizons and capacity."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest
from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.domain.entitlements import entitlements
from companion.domain.errors import InvalidInput
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from companion.domain.memory_policy import (
    HORIZON_DAYS,
    horizon_of,
    recency,
    reinforced_importance,
)
from companion.domain.memory_values import MemoryCandidate

USER, CHARACTER = UUID(int=1), UUID(int=2)
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def message(n: int) -> UUID:
    return uuid5(USER, f"message:{n}")


def fact(
    key: tuple[str, ...] = ("pet", "cat", "name"),
    value: str = "Mochi",
    *,
    n: int = 1,
    kind: Any = "relationship",
    importance: float = 0.7,
    text: str | None = None,
) -> MemoryCandidate:
    return MemoryCandidate(
        kind=kind,
        key=key,
        value=value,
        text=text or f"{' '.join(key)}: {value}",
        importance=importance,
        source_message_id=message(n),
        extractor="rule:test",
        tags=("pet",),
    )


def new_book() -> MemoryBook:
    return MemoryBook(user_id=USER, character_id=CHARACTER)


# -- examples ------------------------------------------------------------------------------


def test_a_book_has_one_id_per_user_and_character() -> None:
    assert new_book().id == memory_book_id(USER, CHARACTER) == MemoryBook.create_id(USER, CHARACTER)
    assert memory_book_id(USER, UUID(int=3)) != memory_book_id(USER, CHARACTER)


def test_a_memory_keeps_where_it_came_from() -> None:
    book = new_book()

    outcome = book.record(fact(n=7), T0)

    [memory] = book.memories(T0)
    assert outcome.action == "recorded"
    assert outcome.memory_id == memory.memory_id
    assert memory.source_message_ids == (message(7),)
    assert memory.extractor == "rule:test"
    assert memory.recorded_at == memory.last_reinforced_at == T0
    assert memory.reinforcements == 0
    assert memory.lemmas  # the plain fallback made some


def test_a_repeated_fact_reinforces_the_memory_instead_of_duplicating_it() -> None:
    book = new_book()
    first = book.record(fact(n=1, importance=0.5), T0)

    again = book.record(fact(value="mochi ", n=2, importance=0.5), T0 + timedelta(days=3))

    [memory] = book.memories(T0 + timedelta(days=3))
    assert again.action == "reinforced"
    assert again.memory_id == first.memory_id == memory.memory_id
    assert memory.source_message_ids == (message(1), message(2))
    assert memory.reinforcements == 1
    assert memory.importance > 0.5
    assert memory.last_reinforced_at == T0 + timedelta(days=3)


def test_reading_the_same_message_again_changes_nothing() -> None:
    book = new_book()
    book.record(fact(n=1), T0)
    version = book.version

    assert book.record(fact(n=1), T0 + timedelta(hours=1)).action == "unchanged"
    assert book.version == version


def test_a_correction_supersedes_the_old_fact_which_stays_in_the_log() -> None:
    book = new_book()
    old = book.record(fact(("birthday",), "03-03", n=1, kind="significant"), T0)

    new = book.record(fact(("birthday",), "--04", n=2, kind="significant"), T0 + timedelta(1))

    [memory] = book.memories(T0 + timedelta(days=1))
    assert new.action == "superseded"
    assert new.superseded == old.memory_id
    assert memory.value == "--04"
    assert memory.supersedes == old.memory_id
    assert book.memory(old.memory_id, T0 + timedelta(days=1)) is None  # type: ignore[arg-type]
    recorded = [e for e in book.collect_events() if isinstance(e, MemoryBook.MemoryRecorded)]
    assert [(e.memory_id, e.value) for e in recorded] == [
        (old.memory_id, "03-03"),
        (new.memory_id, "--04"),
    ]


def test_forgetting_is_for_good_and_a_new_mention_is_a_new_memory() -> None:
    book = new_book()
    first = book.record(fact(n=1), T0)
    assert first.memory_id is not None

    assert book.forget(first.memory_id, T0 + timedelta(hours=1))
    assert book.memories(T0 + timedelta(hours=1)) == []
    assert book.record(fact(n=1), T0 + timedelta(hours=2)).action == "unchanged"
    again = book.record(fact(n=2), T0 + timedelta(hours=3))

    assert again.action == "recorded"
    assert again.memory_id != first.memory_id
    [memory] = book.memories(T0 + timedelta(hours=3))
    assert memory.source_message_ids == (message(2),)
    assert not book.forget(first.memory_id, T0 + timedelta(hours=4))


def test_a_memory_keeps_one_vector_per_model_and_it_leaves_with_the_memory() -> None:
    book = new_book()
    cat = book.record(fact(), T0).memory_id
    job = book.record(fact(("job",), "nurse", n=2), T0).memory_id
    assert cat is not None
    assert job is not None

    assert book.embed(cat, MODEL, [0.6, 0.8], T0)
    assert not book.embed(cat, MODEL, [1.0, 0.0], T0)  # it has one of that model already
    assert not book.embed(job, MODEL, [], T0)
    assert book.embed(cat, "embeddings:other", [1.0], T0)
    assert book.vectors(MODEL, T0) == {cat: (0.6, 0.8)}
    assert [m.memory_id for m in book.unembedded(MODEL, T0)] == [job]
    [embedded, _] = [e for e in book.collect_events() if isinstance(e, MemoryBook.MemoryEmbedded)]
    assert (embedded.memory_id, embedded.model, embedded.vector) == (cat, MODEL, [0.6, 0.8])

    book.forget(cat, T0)
    assert book.vectors(MODEL, T0) == {}
    assert not book.embed(cat, MODEL, [0.6, 0.8], T0)
    corrected = book.record(fact(("job",), "teacher", n=3), T0).memory_id
    assert not book.embed(job, MODEL, [0.6, 0.8], T0)  # superseded
    assert corrected is not None
    assert book.embed(corrected, MODEL, [0.6, 0.8], T0)
    assert set(book.vectors(MODEL, T0)) == {corrected}


def test_forgetting_an_unknown_memory_changes_nothing() -> None:
    book = new_book()
    version = book.version

    assert not book.forget(uuid4(), T0)
    assert book.version == version


@pytest.mark.parametrize(
    ("kind", "importance", "horizon"),
    [
        ("event", 0.4, "short"),
        ("event", 0.7, "long"),
        ("preference", 0.3, "long"),
        ("relationship", 0.5, "long"),
        ("significant", 0.1, "significant"),
        ("event", 0.95, "significant"),
    ],
)
def test_horizons_follow_kind_and_importance(kind: str, importance: float, horizon: str) -> None:
    assert horizon_of(kind, importance) == horizon


def test_a_short_term_memory_expires_after_seven_days_a_significant_one_never() -> None:
    book = new_book()
    plan = book.record(fact(("plan", "dentist"), "dentist", n=1, kind="event", importance=0.4), T0)
    birthday = book.record(fact(("birthday",), "03-03", n=2, kind="significant"), T0)
    week = T0 + timedelta(days=HORIZON_DAYS["short"])

    assert {m.memory_id for m in book.memories(week - timedelta(seconds=1))} == {
        plan.memory_id,
        birthday.memory_id,
    }
    assert [m.memory_id for m in book.memories(week)] == [birthday.memory_id]
    assert book.expire(week) == [plan.memory_id]
    assert book.expire(T0 + timedelta(days=5000)) == []
    [expired] = [e for e in book.collect_events() if isinstance(e, MemoryBook.MemoryExpired)]
    assert not expired.over_capacity


def test_reinforcing_pushes_the_horizon_back() -> None:
    book = new_book()
    book.record(fact(("plan", "gym"), "gym", n=1, kind="event", importance=0.4), T0)
    book.record(fact(("plan", "gym"), "gym", n=2, kind="event", importance=0.4), T0 + timedelta(6))

    assert book.memories(T0 + timedelta(days=12))


def test_a_fact_said_after_its_memory_expired_is_a_new_memory() -> None:
    book = new_book()
    old = book.record(fact(("plan", "gym"), "gym", n=1, kind="event", importance=0.4), T0)

    new = book.record(
        fact(("plan", "gym"), "gym", n=2, kind="event", importance=0.4), T0 + timedelta(days=8)
    )

    assert new.action == "recorded"
    assert new.memory_id != old.memory_id


def test_over_capacity_the_least_valuable_memories_go_with_their_reason() -> None:
    book = new_book()
    capacity = entitlements("free").memory_capacity
    for n in range(capacity):
        book.record(fact(("fact", str(n)), "x", n=n, importance=0.5), T0)
    keeper = book.record(fact(("fact", "vip"), "x", n=9999, importance=0.9), T0)
    trivial = book.record(fact(("fact", "trivial"), "x", n=10000, importance=0.1), T0)

    gone = book.enforce_capacity("free", T0)

    live = {m.memory_id for m in book.memories(T0)}
    assert len(live) == capacity
    assert keeper.memory_id in live
    assert trivial.memory_id in gone
    assert trivial.memory_id not in live
    assert len(gone) == 2
    expired = [e for e in book.collect_events() if isinstance(e, MemoryBook.MemoryExpired)]
    assert [e.over_capacity for e in expired] == [True, True]


def test_candidates_are_checked_and_normalised() -> None:
    candidate = fact(("  Pet ", "CAT"), "Mochi", importance=3.0)

    assert candidate.key == ("pet", "cat")
    assert candidate.importance == 1.0
    with pytest.raises(InvalidInput):
        fact((), "x")
    with pytest.raises(InvalidInput):
        fact(kind="secret")
    with pytest.raises(InvalidInput):
        fact(text="   ")


def test_an_unknown_emotion_is_dropped() -> None:
    candidate = MemoryCandidate(
        kind="event",
        key=("x",),
        value="y",
        text="z",
        importance=0.5,
        source_message_id=message(1),
        extractor="rule:test",
        emotion="smug",
    )

    assert candidate.emotion is None


# -- properties ----------------------------------------------------------------------------

keys = st.sampled_from([("pet", "cat", "name"), ("birthday",), ("likes", "tea"), ("job",)])
values = st.sampled_from(["Mochi", "mochi", "Tama", "03-04", "nurse"])
kinds = st.sampled_from(["event", "preference", "relationship", "significant"])
importances = st.one_of(st.floats(min_value=-1.0, max_value=2.0), st.just(float("nan")))


@dataclass(frozen=True)
class Say:
    key: tuple[str, ...]
    value: str
    kind: str
    importance: float
    same_message: bool


@dataclass(frozen=True)
class Forget:
    index: int


@dataclass(frozen=True)
class Wait:
    days: float


@dataclass(frozen=True)
class Embed:
    index: int


MODEL = "embeddings:test"


@dataclass(frozen=True)
class Expire:
    pass


steps = st.lists(
    st.one_of(
        st.builds(Say, keys, values, kinds, importances, st.booleans()),
        st.builds(Forget, st.integers(0, 5)),
        st.builds(Embed, st.integers(0, 5)),
        st.builds(Wait, st.floats(min_value=0, max_value=40)),
        st.just(Expire()),
    ),
    max_size=30,
)


@dataclass
class Story:
    book: MemoryBook
    now: datetime
    forgotten: set[UUID]
    superseded: set[UUID]


def live_through(script: Iterable[Any], check: Callable[[Story], None] | None = None) -> Story:
    story = Story(new_book(), T0, set(), set())
    n = 0
    for step in script:
        if isinstance(step, Say):
            n += 0 if step.same_message and n else 1
            candidate = fact(step.key, step.value, n=n, kind=step.kind, importance=step.importance)
            outcome = story.book.record(candidate, story.now)
            if outcome.superseded is not None:
                story.superseded.add(outcome.superseded)
        elif isinstance(step, Forget):
            live = story.book.memories(story.now)
            if live:
                target = live[step.index % len(live)].memory_id
                assert story.book.forget(target, story.now)
                story.forgotten.add(target)
        elif isinstance(step, Embed):
            live = story.book.memories(story.now)
            if live:
                target = live[step.index % len(live)].memory_id
                story.book.embed(target, MODEL, (1.0, float(step.index)), story.now)
        elif isinstance(step, Wait):
            story.now += timedelta(days=step.days)
        else:
            story.book.expire(story.now)
        if check is not None:
            check(story)
    return story


@given(steps)
def test_importance_stays_in_its_range(script: list[Any]) -> None:
    def check(story: Story) -> None:
        assert all(0.0 <= m.importance <= 1.0 for m in story.book.memories(story.now))

    live_through(script, check)


@given(steps)
def test_a_fact_is_never_duplicated(script: list[Any]) -> None:
    def check(story: Story) -> None:
        memories = story.book.memories(story.now)
        assert len({m.key for m in memories}) == len(memories)
        assert len({m.memory_id for m in memories}) == len(memories)

    live_through(script, check)


@given(steps)
def test_forgotten_memories_never_come_back(script: list[Any]) -> None:
    def check(story: Story) -> None:
        assert not story.forgotten & {m.memory_id for m in story.book.memories(story.now)}

    live_through(script, check)


@given(steps)
def test_superseded_memories_leave_the_book_but_stay_in_the_log(script: list[Any]) -> None:
    story = live_through(script)

    live = {m.memory_id for m in story.book.memories(story.now)}
    logged = {
        e.memory_id for e in story.book.collect_events() if isinstance(e, MemoryBook.MemoryRecorded)
    }
    assert not story.superseded & live
    assert story.superseded <= logged


@given(script=steps)
def test_replaying_the_events_gives_the_same_book(
    script: list[Any], replay: Callable[[Iterable[Any]], Any]
) -> None:
    story = live_through(script)
    events = story.book.collect_events()

    rebuilt = replay(events)

    assert rebuilt.memories(story.now) == story.book.memories(story.now)
    assert rebuilt.gone == story.book.gone
    assert rebuilt.vectors(MODEL, story.now) == story.book.vectors(MODEL, story.now)


@given(steps)
def test_only_live_memories_keep_their_vectors(script: list[Any]) -> None:
    def check(story: Story) -> None:
        vectors = story.book.vectors(MODEL, story.now)
        live = {m.memory_id for m in story.book.memories(story.now)}
        assert set(vectors) <= live
        assert not set(vectors) & (story.forgotten | story.superseded)
        unembedded = {m.memory_id for m in story.book.unembedded(MODEL, story.now)}
        assert unembedded == live - set(vectors)

    live_through(script, check)


def _states(events: Iterable[Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (type(e).__qualname__, {k: v for k, v in vars(e).items() if k != "timestamp"})
        for e in events
    ]


@given(steps)
def test_the_same_story_gives_the_same_events(script: list[Any]) -> None:
    first = live_through(script).book.collect_events()
    second = live_through(script).book.collect_events()

    assert _states(first) == _states(second)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 40), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_capacity_is_never_exceeded(extra: int, importances: list[float]) -> None:
    book = new_book()
    capacity = entitlements("free").memory_capacity
    for n in range(capacity + extra):
        importance = importances[n % len(importances)]
        at = T0 + timedelta(hours=n)
        book.record(fact(("fact", str(n)), "x", n=n, importance=importance), at, tier="free")
        assert len(book.memories(at)) <= capacity


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.timedeltas(timedelta(0), timedelta(days=999)))
def test_reinforcement_and_recency_stay_in_range(current: float, said: float, age: Any) -> None:
    assert 0.0 <= reinforced_importance(current, said) <= 1.0
    assert reinforced_importance(current, said) >= max(current, said)
    assert 0.0 < recency(T0, T0 + age) <= 1.0
    assert recency(T0, T0 + age) >= recency(T0, T0 + age + timedelta(days=1))


def test_a_book_loads_from_its_snapshot_as_from_its_events() -> None:
    class Books(Application):
        snapshotting_intervals = {MemoryBook: 5}  # noqa: RUF012 - the library's class variable

    app = Books(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    book = new_book()
    for n in range(12):
        key = ("fact", str(n % 4))  # some repeat, some correct an earlier fact
        book.record(fact(key, f"value {n % 3}", n=n, importance=0.4), T0 + timedelta(hours=n))
        app.save(book)
    book.forget(book.memories(T0 + timedelta(days=1))[0].memory_id, T0 + timedelta(days=1))
    app.save(book)
    later = T0 + timedelta(days=2)

    assert app.snapshots is not None
    assert list(app.snapshots.get(book.id))
    loaded = app.repository.get(book.id)
    assert loaded.memories(later) == book.memories(later)
    assert loaded.gone == book.gone
    assert loaded.by_key == book.by_key
