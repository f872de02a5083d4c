from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from argon2 import PasswordHasher, Type

from companion.adapters.passwords import Argon2Passwords
from companion.domain.ports import Passwords

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1)


def test_a_hashed_password_verifies(passwords: Passwords) -> None:
    password_hash = passwords.hash(PASSWORD)

    assert passwords.verify(password_hash, PASSWORD)


def test_a_hash_reveals_neither_the_password_nor_repeats_itself(passwords: Passwords) -> None:
    first, second = passwords.hash(PASSWORD), passwords.hash(PASSWORD)

    assert PASSWORD not in first
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert passwords.verify(second, PASSWORD)


@pytest.mark.parametrize(
    "attempt", ["correct horse battery stapl", "Correct horse battery staple", "", " " + PASSWORD]
)
def test_a_wrong_password_does_not_verify(passwords: Passwords, attempt: str) -> None:
    assert passwords.verify(passwords.hash(PASSWORD), attempt) is False


@pytest.mark.parametrize(
    "password_hash",
    [
        "",
        "garbage",
        "$argon2id$v=19$m=1024,t=1,p=1$not-base64$nor-this",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "パスワード",
    ],
)
def test_an_unreadable_hash_verifies_nothing_and_raises_nothing(
    passwords: Passwords, password_hash: str
) -> None:
    assert passwords.verify(password_hash, PASSWORD) is False


@pytest.mark.parametrize(
    "password", ["パスワードは秘密です", "emoji 🔑🔑🔑 key", "lone \ud800 half"]
)
def test_any_text_can_be_a_password(passwords: Passwords, password: str) -> None:
    password_hash = passwords.hash(password)

    assert passwords.verify(password_hash, password)
    assert not passwords.verify(password_hash, password + "!")


def test_a_hash_made_with_the_current_parameters_needs_no_rehash(passwords: Passwords) -> None:
    assert passwords.needs_rehash(passwords.hash(PASSWORD)) is False


def test_a_hash_made_with_weaker_parameters_needs_a_rehash(passwords: Passwords) -> None:
    stronger = Argon2Passwords(time_cost=2, memory_cost=2048, parallelism=1)

    assert stronger.needs_rehash(passwords.hash(PASSWORD)) is True


def test_an_unreadable_hash_needs_a_rehash(passwords: Passwords) -> None:
    for unreadable in ("garbage", "", "パスワード"):
        assert passwords.needs_rehash(unreadable) is True


def test_a_hash_of_another_argon2_variant_needs_a_rehash(passwords: Passwords) -> None:
    argon2i = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.I)

    assert passwords.needs_rehash(argon2i.hash(PASSWORD)) is True


def test_a_hash_made_with_stronger_parameters_is_brought_to_the_current_ones(
    passwords: Passwords,
) -> None:
    stronger = Argon2Passwords(time_cost=2, memory_cost=2048, parallelism=1)

    assert passwords.needs_rehash(stronger.hash(PASSWORD)) is True


class ArgonCalls:
    """Counts the hashes and checks inside argon2 at the same time.

    Each call waits, inside argon2, for one more call to join it, so that callers
    left free to overlap are certain to be seen overlapping; a caller kept out by
    the limit never comes, and the wait ends unanswered.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inside = 0
        self.most_inside = 0
        self._changed = threading.Condition()

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._changed:
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
                self._changed.notify_all()
                self._changed.wait_for(lambda: self.inside > self.limit, timeout=0.3)
            try:
                return call(*args, **kwargs)
            finally:
                with self._changed:
                    self.inside -= 1

        return counted


def test_no_more_than_the_allowed_hashes_and_checks_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = 2
    calls = ArgonCalls(limit)
    monkeypatch.setattr(PasswordHasher, "hash", calls.wrap(PasswordHasher.hash))
    monkeypatch.setattr(PasswordHasher, "verify", calls.wrap(PasswordHasher.verify))
    bounded = Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1, max_concurrent=limit)
    stored = Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    calls.most_inside = 0

    def login(attempt: int) -> bool:
        if attempt % 2:
            return bool(bounded.hash(PASSWORD))
        return bounded.verify(stored, PASSWORD)

    with ThreadPoolExecutor(max_workers=3 * limit) as pool:
        results = list(pool.map(login, range(3 * limit)))

    assert all(results)
    assert calls.most_inside == limit
