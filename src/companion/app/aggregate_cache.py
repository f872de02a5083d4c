"""Aggregates kept in memory, trusted as far as the store's version check makes them safe.

The library's cache re-reads every cached aggregate's newer events on each
load (a `SELECT … WHERE originator_id` a load) and deep-copies it for each
command. Here:

- An aggregate loaded *to change* comes from the cache as it is, with no read:
  the save's version check decides. If another writer got there first, the
  save fails, the aggregates of the failed save leave the cache, and the use
  case's retry (`EventStoreUnitOfWork.retry`) loads them from the
  store. An attempt that decides something *without* saving (a message that
  is not there, a reply already chosen) was not checked by the store: it is
  made again once on aggregates loaded from the store.
- Cached objects are never mutated: a command gets a structural copy (lists,
  dicts and sets copied, immutable values shared, anything else deep-copied),
  and a save publishes a copy of what it saved, newer versions only. So a
  failed save leaves nothing of itself in the cache, readers never see a
  change that is not stored, and concurrent commands in one process each work
  on their own copy, the store's version check deciding between them as it
  does between processes.
- An aggregate loaded *to read* is brought up to date from the store (the
  library's fast-forward), unless the caller checked it within a `checked`
  scope: one statement that brings every aggregate of a use case up to date
  at once, and tells which of them do not exist (a miss is then free too).
- Threads share the cache. Events read after a version are projected onto
  the very object that version was read from (a cached object never changes),
  never onto whatever the cache holds by then: another thread may have put a
  newer version there, or the aggregate a miss just read whole, or taken it
  out.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.persistence import EventStore, IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql

_SHARED = (str, int, float, bool, bytes, type(None), UUID, datetime, date, time, timedelta, Decimal)
_shareable: dict[type, bool] = {}


def _is_shared(kind: type) -> bool:
    """Whether values of this type are immutable, so a copy may share them."""
    known = _shareable.get(kind)
    if known is None:
        known = issubclass(kind, (*_SHARED, enum.Enum, frozenset)) or (
            dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
        )
        _shareable[kind] = known
    return known


def _thaw(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_thaw(item) for item in value]
    if kind is dict:
        return {key: _thaw(item) for key, item in value.items()}
    if kind is set:
        return {_thaw(item) for item in value}
    if kind is tuple:
        return value if all(_is_shared(type(item)) for item in value) else copy.deepcopy(value)
    if _is_shared(kind):
        return value
    return copy.deepcopy(value)


def structural_copy(aggregate: Any) -> Any:
    """A copy of an aggregate that shares only what cannot change."""
    twin = object.__new__(type(aggregate))
    twin.__dict__.update({name: _thaw(value) for name, value in aggregate.__dict__.items()})
    if "_pending_events" in twin.__dict__:
        twin.__dict__["_pending_events"] = []
    return twin


@dataclass
class Attempt:
    """What one attempt of a use case loaded to change, and whether the store vouched for it."""

    loaded: dict[UUID, bool] = field(default_factory=dict)
    """Aggregate id → checked (read from the store, or checked in this scope, or saved)."""
    versions: dict[UUID, int] = field(default_factory=dict)
    """The version each was loaded at."""
    saved: bool = False
    """Whether the attempt stored anything (then it cannot simply be made again)."""

    def unchecked(self) -> list[UUID]:
        return [aggregate_id for aggregate_id, checked in self.loaded.items() if not checked]


_ABSENT = object()
_checked: ContextVar[dict[UUID, Any] | None] = ContextVar("companion_checked", default=None)
_attempt: ContextVar[Attempt | None] = ContextVar("companion_attempt", default=None)


class AggregateCache(Repository[UUID]):
    """The application's repository: a cache that the store's version check keeps honest."""

    def __init__(
        self,
        event_store: EventStore[UUID],
        *,
        snapshot_store: EventStore[UUID] | None,
        cache_maxsize: int | None,
        recorder: object,
    ) -> None:
        super().__init__(
            event_store,
            snapshot_store=snapshot_store,
            cache_maxsize=cache_maxsize,
            fastforward=False,
            deepcopy_from_cache=True,
        )
        self._publishing = threading.Lock()
        self._newer_events = _batched_reader(recorder, event_store)

    # -- loading -------------------------------------------------------------------------

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        """The aggregate; a private copy when `deepcopy_from_cache` (to change it)."""
        if self.cache is None or version is not None:
            return super().get(
                aggregate_id,
                version=version,
                projector_func=projector_func,
                deepcopy_from_cache=deepcopy_from_cache,
            )
        to_change = deepcopy_from_cache
        checked = _checked.get()
        known = None if checked is None else checked.get(aggregate_id)
        if known is _ABSENT:
            raise AggregateNotFoundError(aggregate_id)
        try:
            cached = self.cache.get(aggregate_id)
        except KeyError:
            aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
            self._publish(aggregate if not to_change else structural_copy(aggregate))
            self._note(aggregate_id, checked=True)
            return aggregate
        if to_change:
            self._note(aggregate_id, checked=known is not None, version=cached.version)
            return structural_copy(cached)
        if known is not None:
            return cached
        # To read, and nobody checked it: bring it up to date, as the library would.
        newer = list(self.event_store.get(originator_id=aggregate_id, gt=cached.version))
        if not newer:
            return cached
        aggregate = projector_func(structural_copy(cached), newer)
        self._publish(aggregate)
        return aggregate

    @contextmanager
    def checked(
        self, aggregate_ids: Iterable[UUID], maybe_missing: Iterable[UUID] = ()
    ) -> Iterator[None]:
        """Loads within are up to date as of entering, in one read of the store.

        `aggregate_ids` are brought up to date if cached (else loaded as usual
        when asked for); `maybe_missing` are read whole if not cached, and a
        load of one that does not exist fails at once.
        """
        if self.cache is None:
            yield
            return
        # The object each read starts from, as found now (None: read it whole). The
        # newer events are projected onto that very object: meanwhile other threads
        # may cache a newer version, or evict it, and cached objects never change.
        base: dict[UUID, Any] = {}
        for aggregate_id in aggregate_ids:
            cached = self._cached(aggregate_id)
            if cached is not None:
                base[aggregate_id] = cached
        for aggregate_id in maybe_missing:
            base.setdefault(aggregate_id, self._cached(aggregate_id))
        found: dict[UUID, Any] = {}
        newer = self._newer_events(
            {i: 0 if cached is None else cached.version for i, cached in base.items()}
        )
        for aggregate_id, cached in base.items():
            events = newer.get(aggregate_id, [])
            if cached is None:
                if not events:
                    found[aggregate_id] = _ABSENT
                    continue
                aggregate = project_aggregate(None, events)
            elif events:
                aggregate = project_aggregate(structural_copy(cached), events)
            else:
                found[aggregate_id] = True
                continue
            self._publish(aggregate)
            found[aggregate_id] = True
        outer = _checked.get()
        token = _checked.set({**(outer or {}), **found})
        try:
            yield
        finally:
            _checked.reset(token)

    def _cached(self, aggregate_id: UUID) -> Any:
        assert self.cache is not None
        try:
            return self.cache.get(aggregate_id)
        except KeyError:
            return None

    # -- saving --------------------------------------------------------------------------

    def confirm(self, saving: Iterable[UUID]) -> None:
        """Before a save: what the attempt loaded from the cache and does not save is still so.

        The save's version check vouches for what it saves, not for what the
        decision also read (say, a payment that refuses a refund, while only
        the refusal is saved): those are checked here, in one read, and a
        changed one fails the save as a conflict would (IntegrityError).
        """
        attempt = _attempt.get()
        if attempt is None:
            return
        skipped = set(saving)
        unchecked = [i for i in attempt.unchecked() if i not in skipped and i in attempt.versions]
        if not unchecked:
            return
        newer = self._newer_events({i: attempt.versions[i] for i in unchecked})
        moved = [i for i in unchecked if newer.get(i)]
        if moved:
            self.evict(moved)
            raise IntegrityError(f"decided on aggregates changed since they were loaded: {moved}")
        for aggregate_id in unchecked:
            attempt.loaded[aggregate_id] = True

    def saved(self, aggregates: Iterable[Any]) -> None:
        """These were stored: the cache gets a copy of each (the writer may go on using its own)."""
        attempt = _attempt.get()
        if attempt is not None:
            attempt.saved = True
        for aggregate in aggregates:
            self._note(aggregate.id, checked=True)
            if self.cache is not None:
                self._publish(structural_copy(aggregate))

    def evict(self, aggregate_ids: Iterable[UUID]) -> None:
        """Forget these: the store has moved on from them, or may have."""
        if self.cache is None:
            return
        with self._publishing:
            for aggregate_id in aggregate_ids:
                with suppress(KeyError):
                    self.cache.get(aggregate_id, evict=True)

    def _publish(self, aggregate: Any) -> None:
        if self.cache is None:
            return
        with self._publishing:
            current = self._cached(aggregate.id)
            # Saves of one aggregate may end in any order; the newest version stays.
            if current is None or current.version < aggregate.version:
                self.cache.put(aggregate.id, aggregate)

    # -- attempts --------------------------------------------------------------------------

    @contextmanager
    def attempt(self) -> Iterator[Attempt]:
        """Track what one attempt of a use case loads to change (see the module's docstring)."""
        attempt = Attempt()
        token = _attempt.set(attempt)
        try:
            yield attempt
        finally:
            _attempt.reset(token)

    def _note(self, aggregate_id: UUID, *, checked: bool, version: int | None = None) -> None:
        attempt = _attempt.get()
        if attempt is not None:
            attempt.loaded[aggregate_id] = checked or attempt.loaded.get(aggregate_id, False)
            if version is not None:
                attempt.versions.setdefault(aggregate_id, version)


NewerEvents = Callable[[dict[UUID, int]], dict[UUID, list[Any]]]


def _batched_reader(recorder: object, event_store: EventStore[UUID]) -> NewerEvents:
    """Reads the events after given versions of several aggregates: one statement on PostgreSQL."""
    datastore = getattr(recorder, "datastore", None)
    table = getattr(recorder, "events_table_name", None)
    if not (
        isinstance(recorder, PostgresApplicationRecorder)
        and isinstance(datastore, PostgresDatastore)
        and isinstance(table, str)
    ):

        def one_by_one(versions: dict[UUID, int]) -> dict[UUID, list[Any]]:
            return {
                aggregate_id: list(event_store.get(originator_id=aggregate_id, gt=version))
                for aggregate_id, version in versions.items()
            }

        return one_by_one

    statement = sql.SQL(
        "SELECT e.originator_id, e.originator_version, e.topic, e.state"
        " FROM unnest(%s::uuid[], %s::bigint[]) AS k(id, version)"
        " JOIN {schema}.{table} AS e"
        " ON e.originator_id = k.id AND e.originator_version > k.version"
        " ORDER BY e.originator_id, e.originator_version"
    ).format(schema=sql.Identifier(datastore.schema), table=sql.Identifier(table))
    mapper = event_store.mapper

    def batched(versions: dict[UUID, int]) -> dict[UUID, list[Any]]:
        if not versions:
            return {}
        ids: Sequence[UUID] = list(versions)
        with datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (ids, [versions[i] for i in ids]), prepare=True)
            rows = cursor.fetchall()
        found: dict[UUID, list[Any]] = {}
        for row in rows:
            stored = StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            found.setdefault(row["originator_id"], []).append(mapper.to_domain_event(stored))
        return found

    return batched
