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
