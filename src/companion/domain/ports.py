"""Ports the domain's use cases need from the outside world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Passwords(Protocol):
    """Hashes passwords and checks them; a stored hash never reveals the password.

    `verify` answers False for a wrong password or an unreadable hash, and never
    raises for either. `needs_rehash` says whether a hash was made with weaker or
    older parameters than the current ones, so it is replaced at the next login.
    """

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class Throttle(Protocol):
    """Limits attempts of one kind per account and per client address (failed logins,
    wrong current passwords, sign-ups, checkouts), each kind with its own counters.

    `admit` comes before the guarded work and answers how many seconds the caller
    must wait before trying again (the Retry-After), or 0 to go ahead. An admitted
    attempt counts from that moment, so attempts sent together cannot all slip
    under the limit at once; nothing needs to be reported after a failure.
    `succeeded` takes the attempt back from the address and clears the account's
    count (a right password); `withdraw` takes it back from both when the work
    could not be done at all (e.g. the store was down).

    `account` names what is counted per account (a normalised email as typed,
    known or not, or a user id); `address` the client's address, or None where
    there is none (the CLI).
    """

    def admit(self, *, account: str, address: str | None) -> int: ...

    def succeeded(self, *, account: str, address: str | None) -> None: ...

    def withdraw(self, *, account: str, address: str | None) -> None: ...


LoginThrottle = Throttle
"""The throttle of failed logins: a Throttle like the others."""


# -- message limits ---------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """What a user may send now: per minute, and per day (None: no daily limit)."""

    per_minute: int
    per_day: int | None

    def __post_init__(self) -> None:
        if self.per_minute < 1 or (self.per_day is not None and self.per_day < 1):
            raise ValueError("a message allowance is at least 1")


@dataclass(frozen=True)
class Day:
    """The user's calendar day: its name (e.g. 2026-11-26) and the seconds it has left."""

    name: str
    seconds_left: float


@dataclass(frozen=True)
class Ticket:
    """An admitted message's place in the counters, to take it back if it is not sent."""

    user: str
    member: str
    at: float
    day: str
    shared: bool
    """Counted in Redis (True) or in this process's memory."""


@dataclass(frozen=True)
class Admission:
    """Admitted (ticket) or refused (retry_after: whole seconds until a slot frees)."""

    ticket: Ticket | None
    retry_after: int = 0

    @property
    def admitted(self) -> bool:
        return self.ticket is not None


class MessageLimiter(Protocol):
    """Counts a user's messages per minute and per day: in this process, or shared (Redis).

    `admit` counts one message and answers its ticket, or refuses it with the wait
    (nothing counted); `withdraw` takes an admitted message back.
    """

    def admit(self, user: str, allowance: Allowance, day: Day) -> Admission: ...

    def withdraw(self, ticket: Ticket) -> None: ...
