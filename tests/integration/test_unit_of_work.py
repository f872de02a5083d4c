"""The unit of work over the event store: conflicts are decided again, until a deadline."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from companion.app.errors import ConcurrencyConflict
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from tests.support.companions import Companions


@pytest.fixture(params=["memory", "sqlite"])
def companions(request: pytest.FixtureRequest) -> Companions:
    companions: Companions = request.getfixturevalue(f"{request.param}_companions")
    return companions


def test_conflicts_are_decided_again_for_as_long_as_the_deadline_allows(
    companions: Companions,
) -> None:
    uow = companions().uow
    attempts: list[int] = []

    def attempt() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) <= 40:
            raise IntegrityError("another writer saved first")
        return "decided"

    assert uow.retry(attempt) == "decided"
    assert len(attempts) == 41


def test_conflicts_past_the_deadline_are_the_callers(companions: Companions) -> None:
    uow = companions().uow
    uow.conflict_deadline_seconds = 0.3

    def attempt() -> None:
        raise IntegrityError("another writer always saves first")

    started = time.monotonic()
    with pytest.raises(ConcurrencyConflict):
        uow.retry(attempt)
    assert 0.3 <= time.monotonic() - started < 3


def test_an_aggregate_found_missing_before_a_conflict_is_read_again_after_it(
    companions: Companions,
) -> None:
    """A checked scope found the book missing; another writer created it meanwhile."""
    uow = companions().uow
    uow.conflict_deadline_seconds = 2
    user_id, character_id = uuid4(), uuid4()
    book_id = memory_book_id(user_id, character_id)
    found: list[bool] = []

    def another_writer() -> None:
        uow.save(MemoryBook(user_id=user_id, character_id=character_id))

    def attempt() -> bool:
        book = uow.find(MemoryBook, book_id)
        found.append(book is not None)
        if book is not None:
            return False
        if len(found) == 1:
            # A thread of its own, as another turn's: outside this attempt.
            writer = threading.Thread(target=another_writer)
            writer.start()
            writer.join()
        uow.save(MemoryBook(user_id=user_id, character_id=character_id))
        return True

    with uow.checked((), maybe_missing=[book_id]):
        created = uow.retry(attempt)

    assert created is False
    assert found == [False, True]
