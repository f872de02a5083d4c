"""An aggregate's stream read against the clock: its version at a moment, and how one of
its values changed over time."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from companion.app.unit_of_work import UnitOfWork

A = TypeVar("A", bound=Aggregate)
V = TypeVar("V")


def utc(moment: datetime) -> datetime:
    """A moment in UTC; one without a zone is taken as UTC, the zone events are stamped in."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def version_at(uow: UnitOfWork, aggregate_id: UUID, at: datetime) -> int | None:
    """The aggregate's version at `at`: that of its last event stamped at or before it
    (None: it did not exist yet)."""
    at = utc(at)
    version = None
    stream: Iterable[Any] = uow.stream(aggregate_id)
    for stored in stream:
        if utc(stored.timestamp) > at:
            break
        version = stored.originator_version
    return version


def as_it_was(uow: UnitOfWork, cls: type[A], aggregate_id: UUID, at: datetime) -> A | None:
    """The aggregate as it was at `at`, to read only (None: it did not exist yet)."""
    version = version_at(uow, aggregate_id, at)
    if version is None:
        return None
    return uow.load(cls, aggregate_id, to_change=False, version=version)


@dataclass
class Timeline(Generic[V]):
    """A value of an aggregate over time: what it was from each event on."""

    moments: list[datetime] = field(default_factory=list)
    values: list[V] = field(default_factory=list)

    @classmethod
    def of(cls, events: Iterable[Any], value: Callable[[Any], V]) -> Timeline[V]:
        """`value` of the aggregate after each of its `events`, projected one by one."""
        timeline: Timeline[V] = cls()
        aggregate: Any = None
        for stored in events:
            aggregate = stored.mutate(aggregate)
            timeline.moments.append(utc(stored.timestamp))
            timeline.values.append(value(aggregate))
        return timeline

    def at(self, moment: datetime) -> V | None:
        """The value at `moment` (None before the first event)."""
        index = bisect.bisect_right(self.moments, utc(moment))
        return self.values[index - 1] if index else None
