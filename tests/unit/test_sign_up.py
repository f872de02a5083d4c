"""Signing up and changing a password through their throttles, on the in-memory unit of work."""

from __future__ import annotations

from uuid import UUID

import pytest

from companion.adapters.throttle import MemoryThrottle, ThrottlePolicy
from companion.app.accounts import Accounts
from companion.app.fake_unit_of_work import FakeUnitOfWork
from companion.app.message_limits import RateLimited
from companion.domain.errors import InvalidCredentials, InvalidInput
from companion.domain.users import User
from tests.support.fake_uow import PASSWORD, OpenThrottle, PlainPasswords

SIGN_UPS = ThrottlePolicy(name="registration", per_account=2, per_address=5, window_seconds=3600)
WRONG_PASSWORDS = ThrottlePolicy(name="password", per_account=3, per_address=None)


@pytest.fixture
def accounts() -> Accounts:
    return Accounts(
        FakeUnitOfWork(),
        passwords=PlainPasswords(),
        login_throttle=OpenThrottle(),
        password_throttle=MemoryThrottle(WRONG_PASSWORDS),
        registration_throttle=MemoryThrottle(SIGN_UPS),
    )


def sign_up(accounts: Accounts, email: str, address: str | None = "203.0.113.7") -> UUID:
    user_id, _ = accounts.sign_up(
        email=email, password=PASSWORD, name="Aoi", nickname="Aoi", address=address
    )
    return user_id


def test_sign_ups_of_one_email_are_throttled_from_any_address(accounts: Accounts) -> None:
    sign_up(accounts, "aoi@example.org", address="203.0.113.7")
    sign_up(accounts, "AOI@example.org", address="198.51.100.1")

    with pytest.raises(RateLimited) as refused:
        sign_up(accounts, "aoi@example.org", address="192.0.2.9")
    assert refused.value.retry_after == 3600
    sign_up(accounts, "ren@example.org", address="192.0.2.9")


class CountedPasswords(PlainPasswords):
    def __init__(self) -> None:
        self.hashed = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return super().hash(password)


def test_bad_input_is_refused_before_any_hashing_and_counts_nothing(accounts: Accounts) -> None:
    passwords = accounts.passwords = CountedPasswords()
    for _ in range(5):
        with pytest.raises(InvalidInput):
            accounts.sign_up(
                email="aoi@example.org",
                password=PASSWORD,
                name="Aoi",
                nickname="A",
                timezone="Mars/Olympus",
                address="203.0.113.7",
            )
    assert passwords.hashed == 0

    sign_up(accounts, "aoi@example.org")


def test_a_forgotten_owners_email_is_answered_as_new_and_nothing_is_recorded(
    accounts: Accounts,
) -> None:
    owner = sign_up(accounts, "aoi@example.org")
    accounts.forget_user(user_id=owner)
    uow = accounts.uow
    assert isinstance(uow, FakeUnitOfWork)
    saved = len(uow.saved)

    stranger = sign_up(accounts, "aoi@example.org")

    assert stranger != owner
    assert uow.find(User, stranger) is None
    assert len(uow.saved) == saved


def test_the_right_password_clears_the_wrong_ones(accounts: Accounts) -> None:
    user_id = sign_up(accounts, "aoi@example.org")
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            accounts.change_password(
                user_id=user_id, current_password="wrong guess!", new_password="x" * 12
            )
    accounts.change_password(user_id=user_id, current_password=PASSWORD, new_password="y" * 12)

    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            accounts.change_password(
                user_id=user_id, current_password="wrong guess!", new_password="x" * 12
            )
    with pytest.raises(RateLimited):
        accounts.change_password(user_id=user_id, current_password="y" * 12, new_password="z" * 12)
