"""Accounts: registering, logging in (within the login throttle), passwords, being forgotten."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from companion.app.errors import ConcurrencyConflict, TooManyAttempts
from companion.app.unit_of_work import UnitOfWork
from companion.domain.errors import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidInput,
    UserNotFound,
)
from companion.domain.identity import email_claim_id, normalise_email
from companion.domain.ports import LoginThrottle, Passwords
from companion.domain.users import EmailClaim, User, check_password

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Login:
    user_id: UUID
    token_version: int
    """Tokens carry it; a password change or being forgotten moves it on."""


def known_user(uow: UnitOfWork, user_id: UUID) -> User:
    """The user, to read only (it may be the cached object itself); UserNotFound if forgotten."""
    user = uow.find(User, user_id, to_change=False)
    if user is None or user.forgotten:
        raise UserNotFound("no such user")
    return user


class Accounts:
    """The use cases of a user's account."""

    def __init__(
        self, uow: UnitOfWork, *, passwords: Passwords, login_throttle: LoginThrottle
    ) -> None:
        self.uow = uow
        self.passwords = passwords
        self.login_throttle = login_throttle
        # Refusing an unknown email verifies against this, at the cost of a real check.
        self._dummy_hash = passwords.hash(secrets.token_urlsafe(16))

    def register(
        self, *, email: str, password: str, name: str, nickname: str, timezone: str = "UTC"
    ) -> UUID:
        """A new account (see register_user); returns its id."""
        user_id, _ = self.register_user(
            email=email, password=password, name=name, nickname=nickname, timezone=timezone
        )
        return user_id

    def register_user(
        self, *, email: str, password: str, name: str, nickname: str, timezone: str = "UTC"
    ) -> tuple[UUID, int | None]:
        """A new account and the position of its events.

        The email is claimed in the same atomic save as the user, so of two
        registrations of one email only one can succeed.
        """
        email = normalise_email(email)
        check_password(password)
        user, claim = User.register(
            user_id=uuid4(),
            email=email,
            password_hash=self.passwords.hash(password),
            name=name,
            nickname=nickname,
            timezone=timezone,
        )
        try:
            position = self.uow.save(user, claim)
        except IntegrityError as conflict:
            raise EmailAlreadyRegistered("this email is already registered") from conflict
        log.info("user.registered", user_id=str(user.id))
        return user.id, position

    def authenticate(self, *, email: str, password: str, address: str | None = None) -> Login:
        """The user for a correct email and password, within the login throttle.

        Failed attempts are counted per account and per client address; past the
        limit the caller is told how long to wait (TooManyAttempts). A hash made
        with older parameters is replaced, keeping the password and the tokens.
        """
        account = email.strip().lower()
        wait = self.login_throttle.admit(account=account, address=address)
        if wait:
            raise TooManyAttempts("too many failed logins, try again later", retry_after=wait)
        try:
            user = self._check_password(email, password)
        except InvalidCredentials:
            raise
        except BaseException:
            # The check could not be made (the store is down, say): not the caller's failure.
            self.login_throttle.withdraw(account=account, address=address)
            raise
        self.login_throttle.succeeded(account=account, address=address)
        if self.passwords.needs_rehash(user.password_hash):
            self._rehash(user.id, password)
        return Login(user.id, user.token_version)

    def _check_password(self, email: str, password: str) -> User:
        try:
            claim = self.uow.load(EmailClaim, email_claim_id(email), to_change=False)
            user = self.uow.load(User, claim.user_id, to_change=False)
        except (AggregateNotFoundError, InvalidInput):
            self.passwords.verify(self._dummy_hash, password)
            raise InvalidCredentials("wrong email or password") from None
        if user.forgotten or not self.passwords.verify(user.password_hash, password):
            raise InvalidCredentials("wrong email or password")
        return user

    def _rehash(self, user_id: UUID, password: str) -> None:
        password_hash = self.passwords.hash(password)

        def save() -> None:
            user = self.uow.load(User, user_id)
            if not user.forgotten and self.passwords.needs_rehash(user.password_hash):
                user.rehash_password(password_hash)
                self.uow.save(user)

        try:
            self.uow.retry(save)
        except ConcurrencyConflict:
            log.warning("user.rehash_postponed", user_id=str(user_id))

    def change_password(
        self, *, user_id: UUID, current_password: str, new_password: str
    ) -> int | None:
        """A new password; every token issued before stops working."""
        check_password(new_password)
        password_hash = self.passwords.hash(new_password)

        def save() -> int | None:
            user = self.uow.load(User, user_id)
            if user.forgotten:
                raise UserNotFound("no such user")
            if not self.passwords.verify(user.password_hash, current_password):
                raise InvalidCredentials("wrong password")
            user.change_password(password_hash)
            return self.uow.save(user)

        position = self.uow.retry(save)
        log.info("user.password_changed", user_id=str(user_id))
        return position

    def forget_user(self, *, user_id: UUID) -> int | None:
        """The user leaves: personal data out of the aggregate, every token invalid."""

        def save() -> int | None:
            user = self.uow.find(User, user_id)
            if user is None:
                raise UserNotFound("no such user")
            user.forget()
            return self.uow.save(user)

        position = self.uow.retry(save)
        log.info("user.forgotten", user_id=str(user_id))
        return position

    def user(self, user_id: UUID) -> User:
        """The user, to read only (it may be the cached object itself)."""
        return known_user(self.uow, user_id)
