"""A clock that moves only when the test moves it."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """The time as an aware datetime (`clock()`) or as epoch seconds (`clock.seconds()`).

    Hand `clock` to what reads datetimes (the application) and `clock.seconds` to
    what counts seconds (message limits, login throttles).
    """

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
