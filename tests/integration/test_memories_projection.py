"""The memories read model on memory, SQLite and PostgreSQL: every live memory with its
provenance and lemmas, nothing forgotten, superseded or of a forgotten user, and rebuilt
from the log equal to the live one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from companion.app.bootstrap import Companion
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from tests.support.clock import Clock
from tests.support.companions import Companions
from tests.support.users import user_with_character

START = datetime(2026, 4, 6, 3, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


def talk(companion: Companion, user: UUID, character: UUID, *texts: str) -> list[UUID]:
    clock = companion.uow.clock
    assert isinstance(clock, Clock)
    sent = []
    for text in texts:
        clock.now += timedelta(minutes=5)
        turn = companion.chat.send_message(user_id=user, character_id=character, text=text)
        sent.append(turn.user_message_id)
    return sent


def book(companion: Companion, user: UUID, character: UUID) -> MemoryBook:
    found: MemoryBook = companion.application.repository.get(memory_book_id(user, character))
    assert isinstance(found, MemoryBook)
    return found


def story(companion: Companion) -> tuple[UUID, UUID, UUID, UUID]:
    """Two users: memories recorded, reinforced, corrected and forgotten; one user forgotten."""
    companion.uow.clock = Clock(START)
    aoi, hana = user_with_character(companion, "aoi@example.org")
    ren, kai = user_with_character(companion, "ren@example.org")
    talk(
        companion,
        aoi,
        hana,
        "My cat is called Mochi.",
        "I love strawberry cake!",
        "I have a cat named Mochi",
        "My birthday is on March 3rd.",
        "Actually my birthday is on March 4th.",
        "明日は歯医者に行く",
        "I live in Osaka.",
    )
    osaka = next(m for m in book(companion, aoi, hana).memories(START) if "Osaka" in m.text)
    companion.memories.forget(user_id=aoi, character_id=hana, memory_id=osaka.memory_id)
    talk(companion, ren, kai, "My dog is called Pochi.", "I work as a nurse.")
    gone, other = user_with_character(companion, "gone@example.org")
    talk(companion, gone, other, "My cat is called Tama.")
    companion.accounts.forget_user(user_id=gone)
    return aoi, hana, ren, kai


def test_the_read_model_holds_each_live_memory_with_its_provenance(
    companions: Companions,
) -> None:
    companion = companions()
    aoi, hana, ren, kai = story(companion)
    companion.runner.run_once()
    memories = companion.read_models.memories
    now = companion.uow.clock()

    page = memories.page(companion.views, aoi, hana, now=now, limit=100)

    assert page is not None
    live = {m.memory_id: m for m in book(companion, aoi, hana).memories(now)}
    assert {m.memory_id for m in page.memories} == set(live)
    for view in page.memories:
        memory = live[view.memory_id]
        assert view.text == memory.text
        assert view.kind == memory.kind
        assert view.importance == pytest.approx(memory.importance, abs=1e-6)
        assert tuple(view.source_message_ids) == memory.source_message_ids
        assert tuple(view.lemmas) == memory.lemmas
        assert view.supersedes == memory.supersedes
    texts = [m.text for m in page.memories]
    assert not any("Osaka" in t for t in texts)
    cat = next(m for m in page.memories if "Mochi" in m.text)
    assert (len(cat.source_message_ids), cat.reinforcements) == (2, 1)
    birthday = next(m for m in page.memories if "birthday" in m.text)
    assert "4th" in birthday.text
    assert birthday.supersedes is not None
    rens = memories.page(companion.views, ren, kai, now=now)
    assert rens is not None
    assert [m.text for m in rens.memories] == [
        m.text for m in reversed(book(companion, ren, kai).memories(now))
    ]
    crossed = memories.page(companion.views, aoi, kai, now=now)
    assert crossed is not None
    assert crossed.memories == []
    with companion.views.read() as cursor:
        rows = cursor.query(f"SELECT text FROM {memories.memories_table}")
    assert not any("Tama" in row["text"] for row in rows)


def test_pages_walk_every_memory_newest_first(companions: Companions) -> None:
    companion = companions()
    aoi, hana, _, _ = story(companion)
    companion.runner.run_once()
    memories = companion.read_models.memories
    now = companion.uow.clock()
    seen: list[UUID] = []
    before = None
    while True:
        page = memories.page(companion.views, aoi, hana, now=now, before=before, limit=2)
        assert page is not None
        seen.extend(m.memory_id for m in page.memories)
        if page.next_before is None:
            break
        before = page.next_before

    recorded = [m.memory_id for m in book(companion, aoi, hana).memories(now)]
    assert seen == list(reversed(recorded))


def test_rebuilt_projection_equals_live_projection(companions: Companions) -> None:
    companion = companions()
    story(companion)
    companion.runner.run_once()
    model = companion.read_models.memories
    live = model.dump(companion.views)
    assert live[model.memories_table]

    companion.runner.rebuild(model)

    assert model.dump(companion.views) == live
