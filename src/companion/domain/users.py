"""Users and the claim that makes an email unique."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from companion.domain import validation
from companion.domain.errors import InvalidInput, UserForgotten
from companion.domain.identity import email_claim_id, normalise_email
from companion.domain.limits import (
    MAX_NAME_CHARS,
    MAX_NICKNAME_CHARS,
    MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
)

Tier = Literal["free", "premium", "ultimate"]
TIERS: tuple[Tier, ...] = ("free", "premium", "ultimate")
MIN_PASSWORD_LENGTH = MIN_PASSWORD_CHARS
MAX_PASSWORD_LENGTH = MAX_PASSWORD_CHARS


def check_password(password: str) -> str:
    """A password long enough to resist guessing, short enough to hash cheaply."""
    if not isinstance(password, str):
        raise InvalidInput("password", "must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def check_name(name: str) -> str:
    return validation.text("name", name, max_length=MAX_NAME_CHARS)


def check_nickname(nickname: str) -> str:
    return validation.text("nickname", nickname, max_length=MAX_NICKNAME_CHARS)


class EmailClaim(Aggregate):
    """Reserves one normalised email for one user.

    Its id is derived from the email, so two registrations of the same email
    race for the same aggregate version and the event store lets only one win.
    """

    class Claimed(Aggregate.Created):
        email: str
        user_id: UUID

    @staticmethod
    def create_id(email: str) -> UUID:
        return email_claim_id(email)

    @event(Claimed)
    def __init__(self, email: str, user_id: UUID) -> None:
        self.email = email
        self.user_id = user_id


class User(Aggregate):
    """Someone with an account. Holds only what its invariants and login need."""

    id: UUID  # chosen by the use case, so it can be returned before the save

    class Registered(Aggregate.Created):
        email: str
        password_hash: str
        name: str
        nickname: str
        timezone: str

    class ProfileUpdated(Aggregate.Event):
        changes: dict[str, str]

    class PasswordChanged(Aggregate.Event):
        password_hash: str

    class PasswordRehashed(Aggregate.Event):
        """The same password, hashed again with the current (stronger) parameters."""

        password_hash: str

    class TierChanged(Aggregate.Event):
        tier: str

    class Forgotten(Aggregate.Event):
        pass

    class AdminGranted(Aggregate.Event):
        """The account may read the business's figures (the admin routes)."""

    class AdminRevoked(Aggregate.Event):
        """The account is an ordinary one again."""

    class SignUpAttempted(Aggregate.Event):
        """Someone tried to register this user's email; the event's timestamp says when.

        Holds nothing the caller sent: the answer they got does not say the email
        is taken, and the owner learns of the attempt from their own profile.
        """

    @classmethod
    def register(
        cls,
        *,
        user_id: UUID,
        email: str,
        password_hash: str,
        name: str,
        nickname: str,
        timezone: str = "UTC",
    ) -> tuple[User, EmailClaim]:
        """A new user and the claim on their email, to be saved together."""
        email = normalise_email(email)
        user = cls(  # type: ignore[call-arg]  # the library's metaclass takes id=
            id=user_id,
            email=email,
            password_hash=password_hash,
            name=check_name(name),
            nickname=check_nickname(nickname),
            timezone=validation.timezone(timezone),
        )
        return user, EmailClaim(email=email, user_id=user_id)

    @event(Registered)
    def __init__(
        self, email: str, password_hash: str, name: str, nickname: str, timezone: str
    ) -> None:
        self.email = email
        self.password_hash = password_hash
        self.name = name
        self.nickname = nickname
        self.timezone = timezone
        self.tier: Tier = "free"
        self.forgotten = False
        self.token_version = 0
        """Tokens carry the version they were issued at; a change of password or
        the user being forgotten moves it on, so every older token stops working."""

    def _ensure_active(self) -> None:
        if self.forgotten:
            raise UserForgotten("this account has been deleted")

    def update_profile(
        self,
        *,
        name: str | None = None,
        nickname: str | None = None,
        timezone: str | None = None,
    ) -> None:
        self._ensure_active()
        changes: dict[str, str] = {}
        if name is not None:
            changes["name"] = check_name(name)
        if nickname is not None:
            changes["nickname"] = check_nickname(nickname)
        if timezone is not None:
            changes["timezone"] = validation.timezone(timezone)
        if changes:
            self._update_profile(changes=changes)

    @event(ProfileUpdated)
    def _update_profile(self, changes: dict[str, str]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def change_password(self, password_hash: str) -> None:
        self._ensure_active()
        self._change_password(password_hash=password_hash)

    @event(PasswordChanged)
    def _change_password(self, password_hash: str) -> None:
        self.password_hash = password_hash
        self.token_version = getattr(self, "token_version", 0) + 1

    def rehash_password(self, password_hash: str) -> None:
        """Keep the password but not its old hash; tokens stay valid."""
        self._ensure_active()
        self._rehash_password(password_hash=password_hash)

    @event(PasswordRehashed)
    def _rehash_password(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def change_tier(self, tier: str) -> None:
        self._ensure_active()
        if tier not in TIERS:
            raise InvalidInput("tier", f"must be one of {', '.join(TIERS)}")
        if tier != self.tier:
            self._change_tier(tier=tier)

    @event(TierChanged)
    def _change_tier(self, tier: Tier) -> None:
        self.tier = tier

    @property
    def is_admin(self) -> bool:
        return bool(getattr(self, "admin", False))

    def grant_admin(self) -> bool:
        """Make the account an admin; says whether it changed anything."""
        self._ensure_active()
        if self.is_admin:
            return False
        self._grant_admin()
        return True

    @event(AdminGranted)
    def _grant_admin(self) -> None:
        self.admin = True

    def revoke_admin(self) -> bool:
        """Make the account an ordinary one; says whether it changed anything."""
        if not self.is_admin:
            return False
        self._revoke_admin()
        return True

    @event(AdminRevoked)
    def _revoke_admin(self) -> None:
        self.admin = False

    def note_sign_up_attempt(self) -> bool:
        """Record that someone tried to register this email; nothing once forgotten.

        Says whether it was recorded.
        """
        if self.forgotten:
            return False
        self._note_sign_up_attempt()
        return True

    @event(SignUpAttempted)
    def _note_sign_up_attempt(self) -> None:
        pass

    def forget(self) -> None:
        """The user asked to be forgotten: personal data leaves the aggregate's state."""
        if not self.forgotten:
            self._forget()

    @event(Forgotten)
    def _forget(self) -> None:
        self.forgotten = True
        self.admin = False
        self.token_version = getattr(self, "token_version", 0) + 1
        self.email = ""
        self.password_hash = ""
        self.name = ""
        self.nickname = ""
