"""Password hashing with Argon2id (argon2-cffi): the `Passwords` port."""

from __future__ import annotations

import threading

from argon2 import (
    DEFAULT_MEMORY_COST,
    DEFAULT_PARALLELISM,
    DEFAULT_TIME_COST,
    PasswordHasher,
)
from argon2.exceptions import InvalidHashError, VerificationError

# Each hash or check holds `memory_cost` KiB (64 MiB by default) while it runs, and
# keeps a core busy; more of them at once than there are cores only adds memory.
DEFAULT_MAX_CONCURRENT = 2


def _encode(password: str) -> bytes:
    # Lone surrogates (valid in a Python str, possible from JSON) must not make
    # hashing or checking raise.
    return password.encode("utf-8", "surrogatepass")


class Argon2Passwords:
    """Argon2id hashes; tests pass cheap parameters (time_cost=1, memory_cost=1024).

    At most `max_concurrent` hashes or checks run at once in this process; the
    others wait their turn, so forty logins together cost `max_concurrent` times
    `memory_cost`, not forty times.
    """

    def __init__(
        self,
        *,
        time_cost: int = DEFAULT_TIME_COST,
        memory_cost: int = DEFAULT_MEMORY_COST,
        parallelism: int = DEFAULT_PARALLELISM,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(_encode(password))

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            with self._slots:
                return self._hasher.verify(password_hash, _encode(password))
        except (VerificationError, InvalidHashError, UnicodeError):
            # UnicodeError: a hash with non-ASCII characters is not an Argon2 hash.
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True for a hash made with other parameters, another Argon2 variant or version,
        and for a hash that cannot be read: it has to be replaced either way.

        Reading the parameters costs nothing, so it takes no hashing slot.
        """
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except ValueError:  # InvalidHashError, or a hash that is not even ASCII
            return True
