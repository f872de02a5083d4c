"""The memory policies: what a memory is worth, how long it is kept, and which go first.

- Importance is in [0, 1]; a fact said again moves it a share of the way to 1.
- Recency is 1 for a memory reinforced now and halves its distance to a floor
  every half-life: old memories fade but never to nothing.
- The horizon is how long a memory is kept after it was last reinforced:
  short term 7 days, long term 365; significant memories are kept until forgotten.
- Past the book's capacity, the least valuable go (importance × recency; the
  older, then the smaller id, on a tie).

Each is a pure function of its inputs, the clock included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from companion.domain.entitlements import memories_over_capacity

if TYPE_CHECKING:
    from companion.domain.memory_values import Memory

Horizon = Literal["short", "long", "significant"]

HORIZON_DAYS: dict[str, int] = {"short": 7, "long": 365}
"""How long a memory is kept after it was last reinforced; significant ones have no horizon."""
LONG_TERM_IMPORTANCE = 0.6
"""An event memory at least this important is kept long term rather than short."""
SIGNIFICANT_IMPORTANCE = 0.9
"""Any memory that reaches this importance is kept until forgotten."""
REINFORCEMENT_GAIN = 0.15
"""The share of the way to 1 a memory's importance moves each time the fact is repeated."""
RECENCY_HALF_LIFE = timedelta(days=30)
RECENCY_FLOOR = 0.25
"""The recency of a memory long unreinforced: old memories fade but never to nothing."""


def clamp_importance(value: float) -> float:
    """An importance in [0, 1] (NaN counts as 0)."""
    if value != value:  # NaN
        return 0.0
    return max(0.0, min(1.0, float(value)))


def horizon_of(kind: str, importance: float) -> Horizon:
    """How long a memory of this kind and importance is kept."""
    if kind == "significant" or importance >= SIGNIFICANT_IMPORTANCE:
        return "significant"
    if kind == "event" and importance < LONG_TERM_IMPORTANCE:
        return "short"
    return "long"


def expiry(horizon: str, since: datetime) -> datetime | None:
    """When a memory of `horizon` last reinforced at `since` expires (None: never)."""
    days = HORIZON_DAYS.get(horizon)
    return None if days is None else since + timedelta(days=days)


def recency(last_reinforced_at: datetime, now: datetime) -> float:
    """In (RECENCY_FLOOR, 1]: 1 for a memory reinforced now, halving its distance to the floor
    every RECENCY_HALF_LIFE."""
    age = max(timedelta(0), now - last_reinforced_at)
    return RECENCY_FLOOR + (1.0 - RECENCY_FLOOR) * float(0.5 ** (age / RECENCY_HALF_LIFE))


def reinforced_importance(current: float, repeated: float) -> float:
    """The importance after the fact is said again (with `repeated` importance this time)."""
    base = max(clamp_importance(current), clamp_importance(repeated))
    return clamp_importance(base + REINFORCEMENT_GAIN * (1.0 - base))


def beyond_capacity(tier: str, memories: int, capacity: int | None) -> int:
    """How many of a book's `memories` exceed the tier's capacity, or `capacity` when the
    operator set one."""
    if capacity is None:
        return memories_over_capacity(tier, memories)
    return max(0, memories - capacity)


def least_valuable(memories: Iterable[Memory], count: int, now: datetime) -> list[Memory]:
    """The `count` memories least worth keeping at `now` (importance × recency; the older,
    then the smaller id, on a tie), least first."""
    ranked = sorted(memories, key=lambda m: (m.value_at(now), m.recorded_at, str(m.memory_id)))
    return ranked[:count]
