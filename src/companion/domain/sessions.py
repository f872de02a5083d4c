"""Sessions: a user's time connected, from their first socket opening to their last closing.

Sockets that overlap, or that reopen shortly after the last one closed, are one
session (the app decides what "shortly" is). Sessions feed daily actives and
session lengths; a session holds no secret, only who, on what kind of device
(the first socket's), and when.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

MAX_DEVICE_CHARS = 200


def describe_device(user_agent: str | None) -> str | None:
    """The device as its user agent names it: printable, short, or None."""
    if not user_agent:
        return None
    printable = "".join(c for c in user_agent if c.isprintable())
    return printable[:MAX_DEVICE_CHARS] or None


class Session(Aggregate):
    class Started(Aggregate.Created):
        user_id: UUID
        device: str | None
        started_at: datetime

    class Ended(Aggregate.Event):
        ended_at: datetime

    @event(Started)
    def __init__(self, user_id: UUID, device: str | None, started_at: datetime) -> None:
        self.user_id = user_id
        self.device = device
        self.started_at = started_at
        self.ended_at: datetime | None = None

    def end(self, at: datetime) -> None:
        """Close the session once; a second close changes nothing."""
        if self.ended_at is None:
            self._ended(ended_at=max(at, self.started_at))

    @event(Ended)
    def _ended(self, ended_at: datetime) -> None:
        self.ended_at = ended_at
