"""Accounts: registering, signing up, logging in, passwords, being forgotten.

Logins, wrong current passwords and sign-ups each go through their own throttle.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from companion.app.errors import ConcurrencyConflict, TooManyAttempts
from companion.app.message_limits import RateLimited
from companion.app.unit_of_work import UnitOfWork
from companion.domain import validation
from companion.domain.errors import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidInput,
    UserNotFound,
)
from companion.domain.identity import email_claim_id, normalise_email
from companion.domain.ports import LoginThrottle, Passwords, Throttle
from companion.domain.users import (
    EmailClaim,
    User,
    check_name,
    check_nickname,
    check_password,
)

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


def admit(throttle: Throttle | None, account: str, address: str | None, detail: str) -> None:
    """Go ahead within the throttle (None: unthrottled), or RateLimited with the wait."""
    if throttle is None:
        return
    wait = throttle.admit(account=account, address=address)
    if wait:
        raise RateLimited(detail, retry_after=wait)


class Accounts:
    """The use cases of a user's account.

    `password_throttle` counts wrong current passwords per user, and
    `registration_throttle` sign-ups per client address and per email attempted;
    None leaves that door unthrottled (tests of other behaviour).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        passwords: Passwords,
        login_throttle: LoginThrottle,
        password_throttle: Throttle | None = None,
        registration_throttle: Throttle | None = None,
    ) -> None:
        self.uow = uow
        self.passwords = passwords
        self.login_throttle = login_throttle
        self.password_throttle = password_throttle
        self.registration_throttle = registration_throttle
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
        """A new account and the position of its events, for trusted callers (the CLI).

        The email is claimed in the same atomic save as the user, so of two
        registrations of one email only one can succeed; the other is told
        (EmailAlreadyRegistered). The public door is `sign_up`, which tells no one.
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

    def sign_up(
        self,
        *,
        email: str,
        password: str,
        name: str,
        nickname: str,
        timezone: str = "UTC",
        address: str | None = None,
    ) -> tuple[UUID, int | None]:
        """Registration as anyone may ask for it: a user id and the position to read after.

        The answer and the work (one password hash) are the same whether or not
        the email is taken, so it never tells whether an email has an account. A
        taken email gets a fresh id that belongs to no account, creates nothing,
        and the email's owner is told instead (User.SignUpAttempted). Sign-ups are
        counted per client address and per email attempted (RateLimited).
        """
        email = normalise_email(email)
        check_password(password)
        check_name(name)
        check_nickname(nickname)
        validation.timezone(timezone)
        admit(self.registration_throttle, email, address, "too many sign-ups, try again later")
        try:
            return self.register_user(
                email=email, password=password, name=name, nickname=nickname, timezone=timezone
            )
        except EmailAlreadyRegistered:
            return uuid4(), self._tell_owner(email)
        except BaseException:
            # Nothing was registered (the store is down, say): not the caller's attempt.
            if self.registration_throttle is not None:
                self.registration_throttle.withdraw(account=email, address=address)
            raise

    def _tell_owner(self, email: str) -> int | None:
        claim = self.uow.find(EmailClaim, email_claim_id(email), to_change=False)
        if claim is None:
            return None
        owner_id = claim.user_id

        def save() -> int | None:
            owner = self.uow.find(User, owner_id)
            if owner is None or not owner.note_sign_up_attempt():
                return None
            return self.uow.save(owner)

        position = self.uow.retry(save)
        if position is not None:
            log.info("user.sign_up_attempted", user_id=str(owner_id))
        return position

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
        """A new password; every token issued before stops working.

        Wrong current passwords are counted per user: past the limit even the
        right one waits (RateLimited), so a token cannot guess the password; the
        right one clears the count.
        """
        check_password(new_password)
        account = str(user_id)
        admit(self.password_throttle, account, None, "too many wrong passwords, try again later")
        password_hash = self.passwords.hash(new_password)

        def save() -> int | None:
            user = self.uow.load(User, user_id)
            if user.forgotten:
                raise UserNotFound("no such user")
            if not self.passwords.verify(user.password_hash, current_password):
                raise InvalidCredentials("wrong password")
            user.change_password(password_hash)
            return self.uow.save(user)

        try:
            position = self.uow.retry(save)
        except InvalidCredentials:
            raise
        except BaseException:
            # The check could not be made (the store is down, say): not the caller's failure.
            if self.password_throttle is not None:
                self.password_throttle.withdraw(account=account, address=None)
            raise
        if self.password_throttle is not None:
            self.password_throttle.succeeded(account=account, address=None)
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
