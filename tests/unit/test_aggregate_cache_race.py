"""The aggregate cache stays right when threads load and check one aggregate at once.

A `checked` scope reads an aggregate's newer events once, after the version
it found cached; whatever another thread puts in the cache meanwhile, those
events are projected onto the version they follow, never onto the newer one
(an OriginatorVersionError) nor, for an aggregate that was not cached, onto
the copy another thread has just loaded (the creation event's AssertionError).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from companion.app.aggregate_cache import AggregateCache

THREADS = 8
ROUNDS = 40


class Tally(Aggregate):
    """A counter: each count is one event, so versions move one by one."""

    def __init__(self) -> None:
        self.counts = 0

    @event("Counted")
    def count(self) -> None:
        self.counts += 1


class Tallies(Application[UUID]):
    """An application whose repository is the aggregate cache, on an in-memory store."""

    def construct_repository(self) -> AggregateCache:
        self.aggregates = AggregateCache(
            self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=100,
            recorder=self.recorder,
        )
        return self.aggregates


class PausingEvents:
    """The event store, with a hook run after each read of one aggregate's events."""

    def __init__(self, events: Any) -> None:
        self._events = events
        self.after_read: Callable[[], None] | None = None

    def get(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        found = list(self._events.get(*args, **kwargs))
        hook, self.after_read = self.after_read, None
        if hook is not None:
            hook()
        return iter(found)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._events, name)


@pytest.fixture
def tallies() -> Iterator[Tallies]:
    app = Tallies(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


def _paused(app: Tallies) -> tuple[AggregateCache, PausingEvents]:
    """A second cache on the same store, whose reads of events can be paused."""
    events = PausingEvents(app.events)
    cache = AggregateCache(
        events,  # type: ignore[arg-type]
        snapshot_store=None,
        cache_maxsize=100,
        recorder=app.recorder,
    )
    return cache, events


def _stored(app: Tallies, counts: int) -> UUID:
    tally = Tally()
    for _ in range(counts):
        tally.count()
    app.save(tally)
    return tally.id


def test_an_aggregate_loaded_while_it_is_checked_is_not_created_twice(tallies: Tallies) -> None:
    tally_id = _stored(tallies, 3)
    cache, events = _paused(tallies)
    # Another thread loads it (and caches it) between the check's read and its use.
    events.after_read = lambda: cache.get(tally_id, deepcopy_from_cache=False)

    with cache.checked([], maybe_missing=[tally_id]):
        tally = cache.get(tally_id, deepcopy_from_cache=False)
    assert (tally.version, tally.counts) == (4, 3)


def test_a_newer_version_cached_while_it_is_checked_is_not_fast_forwarded_again(
    tallies: Tallies,
) -> None:
    tally_id = _stored(tallies, 1)
    cache, events = _paused(tallies)
    cache.get(tally_id, deepcopy_from_cache=False)  # cached at version 2
    writer: Tally = tallies.repository.get(tally_id)
    writer.count()
    tallies.save(writer)  # the store is at version 3

    def another_thread_saves() -> None:
        # It loads version 3, counts once more and saves: the cache holds version 4.
        newest = cache.get(tally_id, deepcopy_from_cache=False)
        mine = cache.get(tally_id)
        assert newest.version == mine.version == 3
        mine.count()
        tallies.save(mine)
        cache.saved([mine])

    events.after_read = another_thread_saves
    with cache.checked([tally_id]):
        tally = cache.get(tally_id, deepcopy_from_cache=False)
    assert (tally.version, tally.counts) == (4, 3)


def test_threads_checking_and_loading_one_aggregate_at_once_all_see_it_whole(
    tallies: Tallies,
) -> None:
    cache = tallies.aggregates
    errors: list[BaseException] = []
    seen: list[int] = []
    written: list[int] = []
    start = threading.Barrier(THREADS)

    def hammer(n: int) -> None:
        for _ in range(ROUNDS):
            try:
                start.wait(timeout=10)
                if n == 0:
                    # The one writer keeps the aggregate moving and out of the cache; it
                    # knows its version, so it reads the store, not what readers cached.
                    writer = cache.get(tally_id, version=len(written) + 1)
                    writer.count()
                    tallies.save(writer)
                    written.append(writer.version)
                    cache.evict([tally_id])
                elif n % 2:
                    with cache.checked([tally_id], maybe_missing=[tally_id]):
                        seen.append(cache.get(tally_id, deepcopy_from_cache=False).counts)
                else:
                    seen.append(cache.get(tally_id, deepcopy_from_cache=False).counts)
            except threading.BrokenBarrierError:
                return
            except BaseException as error:
                errors.append(error)
                start.abort()
                return

    tally_id = _stored(tallies, 0)
    workers = [threading.Thread(target=hammer, args=(n,)) for n in range(THREADS)]
    switching = sys.getswitchinterval()
    # Threads take turns far more often than by default: the races get their chance.
    sys.setswitchinterval(1e-6)
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(switching)

    assert errors == []
    assert len(seen) == (THREADS - 1) * ROUNDS
    assert written == list(range(2, ROUNDS + 2))
    newest = cache.get(tally_id, deepcopy_from_cache=False)
    assert (newest.version, newest.counts) == (ROUNDS + 1, ROUNDS)


def test_a_cached_aggregate_is_never_changed_by_whoever_loaded_it_to_change(
    tallies: Tallies,
) -> None:
    tally_id = _stored(tallies, 2)
    shared = tallies.aggregates.get(tally_id, deepcopy_from_cache=False)
    mine = tallies.aggregates.get(tally_id)
    mine.count()
    assert mine is not shared
    assert shared.counts == 2
    assert tallies.aggregates.get(tally_id, deepcopy_from_cache=False).counts == 2
