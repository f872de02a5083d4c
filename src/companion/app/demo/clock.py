"""The simulation's time: a clock the seeding moves, and events stamped by it.

The use cases read the time from the unit of work's clock; the events' own
timestamps come from the eventsourcing library, which reads the wall clock.
`events_stamped_by` makes the library read the simulation's clock instead, for
as long as a seeding runs in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from eventsourcing.domain import CanCreateTimestamp


class SimulatedClock:
    """Now, as the simulation says; it only moves forward when the seeding moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def move_to(self, moment: datetime) -> None:
        """Go to `moment`, never back: two steps at one moment keep their order."""
        self.now = max(self.now + timedelta(microseconds=1), moment)


@contextmanager
def events_stamped_by(clock: SimulatedClock) -> Iterator[None]:
    """Within, every new event's timestamp is the simulation's now."""
    original = CanCreateTimestamp.__dict__["create_timestamp"]
    CanCreateTimestamp.create_timestamp = staticmethod(clock)  # type: ignore[method-assign]
    try:
        yield
    finally:
        CanCreateTimestamp.create_timestamp = original  # type: ignore[method-assign]
