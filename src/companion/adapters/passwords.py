"""Password hashing with Argon2id (argon2-cffi): the `Passwords` port."""

from __future__ import annotations

from argon2 import (
    DEFAULT_MEMORY_COST,
    DEFAULT_PARALLELISM,
    DEFAULT_TIME_COST,
    PasswordHasher,
)
from argon2.exceptions import InvalidHashError, VerificationError


def _encode(password: str) -> bytes:
    # Lone surrogates (valid in a Python str, possible from JSON) must not make
    # hashing or checking raise.
    return password.encode("utf-8", "surrogatepass")


class Argon2Passwords:
    """Argon2id hashes; tests pass cheap parameters (time_cost=1, memory_cost=1024)."""

    def __init__(
        self,
        *,
        time_cost: int = DEFAULT_TIME_COST,
        memory_cost: int = DEFAULT_MEMORY_COST,
        parallelism: int = DEFAULT_PARALLELISM,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(_encode(password))

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, _encode(password))
        except (VerificationError, InvalidHashError, UnicodeError):
            # UnicodeError: a hash with non-ASCII characters is not an Argon2 hash.
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True too for a hash that cannot be read: it has to be replaced either way."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except ValueError:  # InvalidHashError, or a hash that is not even ASCII
            return True
