"""Ports the domain's use cases need from the outside world."""

from __future__ import annotations

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


class LoginThrottle(Protocol):
    """Limits failed logins per account and per client address.

    `admit` comes before the password is checked and answers how many seconds
    the caller must wait before trying again (the Retry-After), or 0 to go
    ahead. An admitted attempt counts as a failure from that moment, so guesses
    sent together cannot all slip under the limit at once; nothing needs to be
    reported after a wrong password. `succeeded` takes the attempt back from the
    address and clears the account's failures; `withdraw` takes it back from
    both when the check could not be made at all (e.g. the store was down).

    `account` is the normalised email as typed, known or not; `address` the
    client's address, or None where there is none (the CLI).
    """

    def admit(self, *, account: str, address: str | None) -> int: ...

    def succeeded(self, *, account: str, address: str | None) -> None: ...

    def withdraw(self, *, account: str, address: str | None) -> None: ...
