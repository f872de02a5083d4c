"""A unit of work in memory: the use cases run on it in milliseconds, with no store.

It keeps each aggregate's events and a copy of the aggregate as last saved,
checks versions on save as the event store does (IntegrityError when another
writer saved first), and retries conflicting attempts with the real backoff.
What was saved is kept in `saved`, in order, for tests to read.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError

from companion.app.unit_of_work import (
    CONFLICT_DEADLINE_SECONDS,
    MAX_CONFLICT_ATTEMPTS,
    ConflictBackoff,
)

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

MOMENT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The fake's default now: a fixed moment, so that what a test decides is repeatable."""


class FakeUnitOfWork:
    """The UnitOfWork protocol over dicts, safe to share between threads."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        on_saved: Callable[[int], None] | None = None,
        conflict_deadline_seconds: float = CONFLICT_DEADLINE_SECONDS,
        max_conflict_attempts: int = MAX_CONFLICT_ATTEMPTS,
    ) -> None:
        self.clock: Callable[[], datetime] = clock or (lambda: MOMENT)
        self.on_saved = on_saved
        self.conflict_deadline_seconds = conflict_deadline_seconds
        self.max_conflict_attempts = max_conflict_attempts
        self.aggregates: dict[UUID, Aggregate] = {}
        """The last saved copy of each aggregate (its version is the stored version)."""
        self.events: dict[UUID, list[DomainEventProtocol[UUID]]] = {}
        self.saved: list[DomainEventProtocol[UUID]] = []
        """Every event saved, in the order of the saves."""
        self.conflicts = 0
        """How many saves were refused because another writer saved first."""
        self._lock = threading.Lock()

    def load(
        self,
        cls: type[A],
        aggregate_id: UUID,
        *,
        to_change: bool = True,
        version: int | None = None,
    ) -> A:
        with self._lock:
            if version is not None:
                aggregate: Any = None
                history: list[Any] = self.events.get(aggregate_id, [])[:version]
                for stored in history:
                    aggregate = stored.mutate(aggregate)
            else:
                aggregate = copy.deepcopy(self.aggregates.get(aggregate_id))
        if not isinstance(aggregate, cls):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def find(self, cls: type[A], aggregate_id: UUID, *, to_change: bool = True) -> A | None:
        try:
            return self.load(cls, aggregate_id, to_change=to_change)
        except AggregateNotFoundError:
            return None

    def exists(self, aggregate_id: UUID) -> bool:
        with self._lock:
            return bool(self.events.get(aggregate_id))

    def save(self, *aggregates: Aggregate) -> int | None:
        """All or nothing, as the store: any aggregate saved meanwhile refuses the whole save."""
        with self._lock:
            pending = [(aggregate, aggregate.collect_events()) for aggregate in aggregates]
            for aggregate, events in pending:
                stored = len(self.events.get(aggregate.id, []))
                if events and events[0].originator_version != stored + 1:
                    self.conflicts += 1
                    loaded = events[0].originator_version - 1
                    raise IntegrityError(f"{aggregate.id} is at version {stored}, not {loaded}")
            for aggregate, events in pending:
                if events:
                    self.events.setdefault(aggregate.id, []).extend(events)
                    self.saved.extend(events)
                    self.aggregates[aggregate.id] = copy.deepcopy(aggregate)
            position = len(self.saved) if any(events for _, events in pending) else None
        if position is not None and self.on_saved is not None:
            self.on_saved(position)
        return position

    def retry(self, attempt: Callable[[], T]) -> T:
        backoff = ConflictBackoff(self.conflict_deadline_seconds, self.max_conflict_attempts)
        while True:
            try:
                return attempt()
            except IntegrityError:
                backoff.after_conflict()

    def checked(
        self, aggregate_ids: Iterable[UUID], maybe_missing: Iterable[UUID] = ()
    ) -> AbstractContextManager[None]:
        # Every load here reads the latest save: there is nothing to bring up to date.
        return nullcontext()

    def stream(
        self,
        aggregate_id: UUID,
        *,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        with self._lock:
            events = [
                e
                for e in self.events.get(aggregate_id, [])
                if lte is None or e.originator_version <= lte
            ]
        if desc:
            events.reverse()
        return iter(events if limit is None else events[:limit])
