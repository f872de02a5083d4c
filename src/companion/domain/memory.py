"""Long-term memory: what a character remembers of one user, where each memory came from,
and when it is let go.

A `MemoryBook` per user × character holds the live memories; its events are
their whole history:

- `MemoryRecorded`: a new fact, with its provenance (the message ids it came
  from and the extractor, a rule's name or "model:<name>"). When a fact of the
  same key but another value comes ("actually my birthday is the 4th"), the
  new memory `supersedes` the old one: the old one leaves the live memories
  and stays in the log.
- `MemoryReinforced`: the same fact said again, from another message: its
  importance and recency go up, the message joins its sources, nothing is
  duplicated.
- `MemoryForgotten`: the user asked; the memory is gone from every later
  read. Forgetting is for good: re-reading the message that made it records
  nothing, and the same fact said again in a *new* message is a new memory
  with a new id, never the forgotten one brought back.
- `MemoryExpired`: its horizon passed (short term 7 days, long term 365 since
  it was last reinforced; significant memories are kept until forgotten), or
  the tier's capacity was exceeded and it was the least valuable
  (importance × recency); `over_capacity` says which.
- `MemoryEmbedded`: a live memory's vector from an embeddings model, kept
  beside it for retrieval (one per model name); it leaves with the memory.

The book applies the policies of `memory_policy` (horizons, reinforcement,
capacity) to the values of `memory_values` (a `MemoryCandidate` in, a `Memory`
out). Everything here is a pure function of the events and of the `now` each
command is given: replaying the events gives the same book.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from companion.domain.identity import memory_book_id
from companion.domain.lemmas import Lemmatizer, PlainLemmatizer
from companion.domain.memory_policy import (
    beyond_capacity,
    expiry,
    horizon_of,
    least_valuable,
    reinforced_importance,
)
from companion.domain.memory_values import Memory, MemoryCandidate, key_text, normalise_value

RecordAction = Literal["recorded", "reinforced", "superseded", "unchanged"]

MAX_LEMMAS = 200


@dataclass(frozen=True)
class Recorded:
    """What `record` did with a candidate, and the memory it concerns (None when unchanged)."""

    action: RecordAction
    memory_id: UUID | None
    superseded: UUID | None = None


def memory_id_for(book_id: UUID, source_message_id: UUID, key: Sequence[str]) -> UUID:
    """A memory's id follows from its book, first message and key: extracting the same
    message again names the same memory."""
    return uuid5(book_id, f"memory:{source_message_id}:{key_text(key)}")


def _memory_of(entry: Mapping[str, Any]) -> Memory:
    return Memory(
        memory_id=entry["memory_id"],
        kind=entry["kind"],
        key=tuple(entry["key"]),
        value=entry["value"],
        text=entry["text"],
        importance=entry["importance"],
        tags=tuple(entry["tags"]),
        emotion=entry["emotion"],
        source_message_ids=tuple(entry["sources"]),
        extractor=entry["extractor"],
        recorded_at=entry["recorded_at"],
        last_reinforced_at=entry["last_reinforced_at"],
        reinforcements=entry["reinforcements"],
        horizon=entry["horizon"],
        expires_at=entry["expires_at"],
        lemmas=tuple(entry["lemmas"]),
        supersedes=entry["supersedes"],
    )


class MemoryBook(Aggregate):
    """What a character remembers of one user. Its state holds the live memories only;
    forgotten, expired and superseded ones stay in its events."""

    class Opened(Aggregate.Created):
        user_id: UUID
        character_id: UUID

    class MemoryRecorded(Aggregate.Event):
        memory_id: UUID
        memory_type: str
        """The memory's kind: event, preference, relationship or significant."""
        key: list[str]
        value: str
        text: str
        importance: float
        tags: list[str]
        emotion: str | None
        source_message_ids: list[UUID]
        extractor: str
        horizon: str
        expires_at: datetime | None
        lemmas: list[str]
        supersedes: UUID | None
        at: datetime

    class MemoryReinforced(Aggregate.Event):
        memory_id: UUID
        source_message_id: UUID
        extractor: str
        importance: float
        horizon: str
        expires_at: datetime | None
        at: datetime

    class MemoryForgotten(Aggregate.Event):
        memory_id: UUID
        at: datetime

    class MemoryExpired(Aggregate.Event):
        memory_id: UUID
        over_capacity: bool
        """True: let go to keep within the tier's capacity; False: its horizon passed."""
        at: datetime

    class MemoryEmbedded(Aggregate.Event):
        memory_id: UUID
        model: str
        """The embeddings model the vector is of: only vectors of one model compare."""
        vector: list[float]
        at: datetime

    @staticmethod
    def create_id(user_id: UUID, character_id: UUID) -> UUID:
        return memory_book_id(user_id, character_id)

    @event(Opened)
    def __init__(self, user_id: UUID, character_id: UUID) -> None:
        self.user_id = user_id
        self.character_id = character_id
        self.entries: dict[str, dict[str, Any]] = {}
        """The live memories by id, in the order they were recorded."""
        self.by_key: dict[str, str] = {}
        """The live memory of each key."""
        self.gone: dict[str, str] = {}
        """Every memory that left, by id: forgotten, expired or superseded."""

    # -- queries -------------------------------------------------------------------------

    def memories(self, now: datetime) -> list[Memory]:
        """The live memories at `now`, in the order they were recorded.

        A memory past its horizon is not live even before its MemoryExpired is stored.
        """
        memories = (_memory_of(entry) for entry in self.entries.values())
        return [m for m in memories if m.is_live(now)]

    def memory(self, memory_id: UUID, now: datetime) -> Memory | None:
        """One live memory, or None (unknown, forgotten, expired or superseded)."""
        entry = self.entries.get(str(memory_id))
        if entry is None:
            return None
        memory = _memory_of(entry)
        return memory if memory.is_live(now) else None

    def vectors(self, model: str, now: datetime) -> dict[UUID, tuple[float, ...]]:
        """The vectors of `model` of the live memories at `now`, by memory id."""
        return {
            entry["memory_id"]: entry["vectors"][model]
            for entry in self.entries.values()
            if model in entry.get("vectors", {}) and _memory_of(entry).is_live(now)
        }

    def unembedded(self, model: str, now: datetime) -> list[Memory]:
        """The live memories at `now` with no vector of `model` yet, in the order recorded."""
        return [
            _memory_of(entry)
            for entry in self.entries.values()
            if model not in entry.get("vectors", {}) and _memory_of(entry).is_live(now)
        ]

    def count(self) -> int:
        """How many memories the state holds (some may be past their horizon)."""
        return len(self.entries)

    # -- commands --------------------------------------------------------------------------

    def record(
        self,
        candidate: MemoryCandidate,
        now: datetime,
        *,
        lemmatizer: Lemmatizer | None = None,
        lemmas: Iterable[str] | None = None,
        tier: str | None = None,
    ) -> Recorded:
        """Record a fact: a new memory, a reinforcement of the same fact, or a correction.

        The memory's terms for retrieval are `lemmas` when given, else the
        `lemmatizer`'s (the plain fallback's without one) of the candidate's
        `index_text`. With a `tier`, the tier's capacity is enforced afterwards.
        """
        if lemmas is None:
            lemmas = (lemmatizer or PlainLemmatizer()).lemmas(candidate.index_text)
        outcome = self._record(candidate, now, lemmas)
        if tier is not None:
            self.enforce_capacity(tier, now)
        return outcome

    def _record(self, candidate: MemoryCandidate, now: datetime, lemmas: Iterable[str]) -> Recorded:
        key = key_text(candidate.key)
        live_id = self.by_key.get(key)
        live = self.entries.get(live_id) if live_id is not None else None
        if live is not None and live["expires_at"] is not None and now >= live["expires_at"]:
            self._memory_expired(memory_id=live["memory_id"], over_capacity=False, at=now)
            live = None
        if live is not None and candidate.source_message_id in live["sources"]:
            # One message says one thing per key; extracting it again changes nothing.
            return Recorded("unchanged", None)
        if live is not None and live["value_key"] == normalise_value(candidate.value):
            importance = reinforced_importance(live["importance"], candidate.importance)
            horizon = horizon_of(live["kind"], importance)
            self._memory_reinforced(
                memory_id=live["memory_id"],
                source_message_id=candidate.source_message_id,
                extractor=candidate.extractor,
                importance=importance,
                horizon=horizon,
                expires_at=expiry(horizon, now),
                at=now,
            )
            return Recorded("reinforced", live["memory_id"])
        memory_id = memory_id_for(self.id, candidate.source_message_id, candidate.key)
        if str(memory_id) in self.gone or str(memory_id) in self.entries:
            # Forgotten (or gone otherwise) for good: the same message never brings it back.
            return Recorded("unchanged", None)
        horizon = horizon_of(candidate.kind, candidate.importance)
        terms = list(lemmas)
        supersedes = None if live is None else live["memory_id"]
        self._memory_recorded(
            memory_id=memory_id,
            memory_type=candidate.kind,
            key=list(candidate.key),
            value=candidate.value,
            text=candidate.text,
            importance=candidate.importance,
            tags=list(candidate.tags),
            emotion=candidate.emotion,
            source_message_ids=[candidate.source_message_id],
            extractor=candidate.extractor,
            horizon=horizon,
            expires_at=expiry(horizon, now),
            lemmas=[t for t in terms if t][:MAX_LEMMAS],
            supersedes=supersedes,
            at=now,
        )
        if supersedes is not None:
            return Recorded("superseded", memory_id, superseded=supersedes)
        return Recorded("recorded", memory_id)

    def forget(self, memory_id: UUID, now: datetime) -> bool:
        """Forget a live memory for good; False when there is no such live memory."""
        if str(memory_id) not in self.entries:
            return False
        self._memory_forgotten(memory_id=memory_id, at=now)
        return True

    def embed(self, memory_id: UUID, model: str, vector: Sequence[float], now: datetime) -> bool:
        """Keep a live memory's vector of `model`; False (nothing recorded) when the memory
        is not live, already has a vector of that model, or the vector is empty."""
        entry = self.entries.get(str(memory_id))
        if entry is None or not vector or model in entry.get("vectors", {}):
            return False
        if not _memory_of(entry).is_live(now):
            return False
        self._memory_embedded(
            memory_id=memory_id, model=model, vector=[float(x) for x in vector], at=now
        )
        return True

    def expire(self, now: datetime) -> list[UUID]:
        """Let go of every memory past its horizon at `now`; the ids that expired."""
        due = [
            entry["memory_id"]
            for entry in self.entries.values()
            if entry["expires_at"] is not None and now >= entry["expires_at"]
        ]
        for memory_id in due:
            self._memory_expired(memory_id=memory_id, over_capacity=False, at=now)
        return due

    def enforce_capacity(
        self, tier: str, now: datetime, *, capacity: int | None = None
    ) -> list[UUID]:
        """Keep within the tier's capacity (or `capacity`, when the operator set one): the
        expired go first, then the least valuable (importance × recency; the older, then
        the smaller id, on a tie). The ids let go."""
        if beyond_capacity(tier, len(self.entries), capacity) == 0:
            return []
        gone = self.expire(now)
        over = beyond_capacity(tier, len(self.entries), capacity)
        if over == 0:
            return gone
        live = (_memory_of(entry) for entry in self.entries.values())
        for memory in least_valuable(live, over, now):
            self._memory_expired(memory_id=memory.memory_id, over_capacity=True, at=now)
            gone.append(memory.memory_id)
        return gone

    # -- the events' effects -----------------------------------------------------------------

    @event(MemoryRecorded)
    def _memory_recorded(
        self,
        memory_id: UUID,
        memory_type: str,
        key: list[str],
        value: str,
        text: str,
        importance: float,
        tags: list[str],
        emotion: str | None,
        source_message_ids: list[UUID],
        extractor: str,
        horizon: str,
        expires_at: datetime | None,
        lemmas: list[str],
        supersedes: UUID | None,
        at: datetime,
    ) -> None:
        if supersedes is not None:
            self._leave(str(supersedes), "superseded")
        entry = {
            "memory_id": memory_id,
            "kind": memory_type,
            "key": list(key),
            "value": value,
            "value_key": normalise_value(value),
            "text": text,
            "importance": importance,
            "tags": list(tags),
            "emotion": emotion,
            "sources": list(source_message_ids),
            "extractor": extractor,
            "recorded_at": at,
            "last_reinforced_at": at,
            "reinforcements": 0,
            "horizon": horizon,
            "expires_at": expires_at,
            "lemmas": list(lemmas),
            "supersedes": supersedes,
            "vectors": {},
        }
        self.entries[str(memory_id)] = entry
        self.by_key[key_text(key)] = str(memory_id)

    @event(MemoryReinforced)
    def _memory_reinforced(
        self,
        memory_id: UUID,
        source_message_id: UUID,
        extractor: str,
        importance: float,
        horizon: str,
        expires_at: datetime | None,
        at: datetime,
    ) -> None:
        entry = self.entries[str(memory_id)]
        entry["sources"] = [*entry["sources"], source_message_id]
        entry["importance"] = importance
        entry["horizon"] = horizon
        entry["expires_at"] = expires_at
        entry["last_reinforced_at"] = at
        entry["reinforcements"] = entry["reinforcements"] + 1

    @event(MemoryForgotten)
    def _memory_forgotten(self, memory_id: UUID, at: datetime) -> None:
        self._leave(str(memory_id), "forgotten")

    @event(MemoryExpired)
    def _memory_expired(self, memory_id: UUID, over_capacity: bool, at: datetime) -> None:
        self._leave(str(memory_id), "expired:capacity" if over_capacity else "expired:horizon")

    @event(MemoryEmbedded)
    def _memory_embedded(
        self, memory_id: UUID, model: str, vector: list[float], at: datetime
    ) -> None:
        entry = self.entries.get(str(memory_id))
        if entry is not None:
            entry["vectors"] = {**entry.get("vectors", {}), model: tuple(vector)}

    def _leave(self, memory_id: str, why: str) -> None:
        entry = self.entries.pop(memory_id, None)
        if entry is not None:
            key = key_text(entry["key"])
            if self.by_key.get(key) == memory_id:
                del self.by_key[key]
        self.gone[memory_id] = why
