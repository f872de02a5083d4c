"""The unit of work: how every use case touches aggregates.

A use case loads what it decides on (a private copy when it changes it),
calls domain methods, and saves what changed in one atomic save. When another
writer saved one of those aggregates first, the store refuses the save
(`IntegrityError`) and the whole load-decide-save attempt is made again on the
store's state (`retry`). `checked` brings the aggregates a use case only reads
up to date in one read of the store; `stream` reads an aggregate's events.

`EventStoreUnitOfWork` is the real one: the eventsourcing Application
underneath is the repository, with its AggregateCache. `FakeUnitOfWork`
(companion.app.fake_unit_of_work) keeps aggregates in a dict, for use-case
tests that run in milliseconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Recording

from companion.app.aggregate_cache import AggregateCache
from companion.app.errors import ConcurrencyConflict

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

CONFLICT_BACKOFF_SECONDS = 0.002
"""The first pause after a conflict (at most); it doubles with each further conflict …"""
MAX_CONFLICT_BACKOFF_SECONDS = 0.05
"""… up to this."""
CONFLICT_DEADLINE_SECONDS = 10.0
"""How long a use case keeps trying while other writers win: a busy conversation on a
shared store can take many rounds, and a 409 costs the user their turn."""
MAX_CONFLICT_ATTEMPTS = 200
"""Past this many conflicts a use case gives up even before its deadline."""


class UnitOfWork(Protocol):
    """Loads aggregates, saves them together, retries on conflict; what use cases type against."""

    def clock(self) -> datetime:
        """Now, as the use cases see it (tests move it)."""
        ...

    def load(
        self,
        cls: type[A],
        aggregate_id: UUID,
        *,
        to_change: bool = True,
        version: int | None = None,
    ) -> A:
        """The aggregate (AggregateNotFoundError when there is none of this class).

        To change: a private copy, which only a save publishes. To read
        (`to_change=False`): possibly the shared object itself, never to mutate.
        With `version`: the aggregate as it was at that version.
        """
        ...

    def find(self, cls: type[A], aggregate_id: UUID, *, to_change: bool = True) -> A | None:
        """As `load`, or None when there is no such aggregate."""
        ...

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether the aggregate has any stored event (of whatever class)."""
        ...

    def save(self, *aggregates: Aggregate) -> int | None:
        """Store the aggregates' new events in one atomic save; the position of the last one.

        IntegrityError when another writer saved one of them (or, within `retry`,
        changed what the attempt read) first: nothing is stored.
        """
        ...

    def retry(self, attempt: Callable[[], T]) -> T:
        """Make the load-decide-save `attempt` until it is not in conflict with another writer.

        ConcurrencyConflict when other writers keep winning past the deadline.
        """
        ...

    def checked(
        self, aggregate_ids: Iterable[UUID], maybe_missing: Iterable[UUID] = ()
    ) -> AbstractContextManager[None]:
        """Loads within are up to date as of entering, in one read of the store.

        `maybe_missing` are aggregates that may well not exist: their absence
        is learnt in the same read.
        """
        ...

    def stream(
        self,
        aggregate_id: UUID,
        *,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        """The aggregate's stored events (up to version `lte`, newest first if `desc`)."""
        ...


def last_position(recordings: Sequence[Recording[UUID]]) -> int | None:
    """The notification id of the last of a save's events (None: nothing was stored)."""
    return max((r.notification.id for r in recordings), default=None)


class ConflictBackoff:
    """The pauses between the attempts of one use case while other writers win.

    Each conflict waits a random pause (jittered exponential, CONFLICT_BACKOFF_SECONDS
    doubling up to MAX_CONFLICT_BACKOFF_SECONDS), so the same writers do not
    collide again; past the deadline or the attempt cap it gives up
    (ConcurrencyConflict).
    """

    def __init__(self, deadline_seconds: float, max_attempts: int) -> None:
        self.deadline = time.monotonic() + deadline_seconds
        self.max_attempts = max_attempts
        self.conflicts = 0

    def after_conflict(self) -> None:
        """Wait before the next attempt, or raise ConcurrencyConflict: no attempt is left."""
        self.conflicts += 1
        left = self.deadline - time.monotonic()
        if self.conflicts >= self.max_attempts or left <= 0:
            raise ConcurrencyConflict("too many concurrent writers, try again")
        ceiling = CONFLICT_BACKOFF_SECONDS * 2 ** min(self.conflicts - 1, 16)
        time.sleep(min(random.uniform(0, min(ceiling, MAX_CONFLICT_BACKOFF_SECONDS)), left))


_refused: ContextVar[list[UUID] | None] = ContextVar("companion_refused", default=None)
"""The aggregates of the saves refused in the current attempt of a `retry`."""


class EventStoreUnitOfWork:
    """The unit of work over the event store: the Application and its AggregateCache."""

    def __init__(
        self,
        application: Application[UUID],
        cache: AggregateCache,
        *,
        on_saved: Callable[[int], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        conflict_deadline_seconds: float = CONFLICT_DEADLINE_SECONDS,
        max_conflict_attempts: int = MAX_CONFLICT_ATTEMPTS,
    ) -> None:
        self.application = application
        self.cache = cache
        self.on_saved = on_saved
        """Called with the position of every save, e.g. to wake this process's runner."""
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.conflict_deadline_seconds = conflict_deadline_seconds
        self.max_conflict_attempts = max_conflict_attempts

    def load(
        self,
        cls: type[A],
        aggregate_id: UUID,
        *,
        to_change: bool = True,
        version: int | None = None,
    ) -> A:
        """The aggregate, as a private copy when it is `to_change`.

        Read-only loads share the cached object and skip the copy; nothing may
        mutate what they return. A load to change reads nothing from the store
        when the aggregate is cached: the save's version check decides.
        """
        aggregate: Aggregate = self.application.repository.get(
            aggregate_id, version=version, deepcopy_from_cache=to_change
        )
        if not isinstance(aggregate, cls):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def find(self, cls: type[A], aggregate_id: UUID, *, to_change: bool = True) -> A | None:
        try:
            return self.load(cls, aggregate_id, to_change=to_change)
        except AggregateNotFoundError:
            return None

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.application.recorder.select_events(aggregate_id, limit=1))

    def save(self, *aggregates: Aggregate) -> int | None:
        """Save aggregates atomically and return the position of the last event."""
        self.cache.confirm(aggregate.id for aggregate in aggregates)
        try:
            recordings = self.application.save(*aggregates)
        except IntegrityError:
            refused = _refused.get()
            if refused is not None:
                refused.extend(aggregate.id for aggregate in aggregates)
            self.cache.evict(aggregate.id for aggregate in aggregates)
            raise
        except BaseException:
            # The store moved on from these (a conflict), or may have (the commit's fate is
            # unknown): the next load reads them from the store.
            self.cache.evict(aggregate.id for aggregate in aggregates)
            raise
        position = last_position(recordings)
        if position is not None and self.on_saved is not None:
            self.on_saved(position)
        return position

    def retry(self, attempt: Callable[[], T]) -> T:
        """Run a use case's load-decide-save `attempt` until its save is not in conflict.

        What an attempt loads to change comes from the cache unread. A conflict
        evicts it, so the next attempt decides on the store's state. What a save
        does not store but the decision read is checked before the save
        (AggregateCache.confirm). An attempt that saves nothing (or fails) on
        what it loaded from the cache was not checked by the store: it is made
        once more on a fresh load. Conflicts are retried after a growing random
        pause until `conflict_deadline_seconds` have passed (or
        `max_conflict_attempts` conflicts), then ConcurrencyConflict.

        The attempt after a conflict reads again, in one statement, what the
        refused save held: a `checked` scope around the use case knows them as
        they were when it began (a memory book it found missing, say, that
        another writer has created since), and the attempt must not decide on
        that again.
        """
        backoff = ConflictBackoff(self.conflict_deadline_seconds, self.max_conflict_attempts)
        rechecked = False
        refused: list[UUID] = []
        token = _refused.set(refused)
        try:
            while True:
                again, refused[:] = list(refused), []
                fresh = self.cache.checked((), maybe_missing=again) if again else nullcontext()
                with fresh, self.cache.attempt() as tracked:
                    try:
                        result = attempt()
                    except IntegrityError:
                        # Someone saved the same aggregate first: reload and decide again,
                        # after a random pause so that the same writers do not collide again.
                        self.cache.evict(tracked.loaded)
                        backoff.after_conflict()
                        continue
                    except Exception:
                        if rechecked or tracked.saved or not tracked.unchecked():
                            raise
                        self.cache.evict(tracked.unchecked())
                        rechecked = True
                        continue
                if tracked.unchecked() and not tracked.saved and not rechecked:
                    self.cache.evict(tracked.unchecked())
                    rechecked = True
                    continue
                return result
        finally:
            _refused.reset(token)

    def checked(
        self, aggregate_ids: Iterable[UUID], maybe_missing: Iterable[UUID] = ()
    ) -> AbstractContextManager[None]:
        return self.cache.checked(aggregate_ids, maybe_missing=maybe_missing)

    def stream(
        self,
        aggregate_id: UUID,
        *,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        return self.application.events.get(aggregate_id, lte=lte, desc=desc, limit=limit)
