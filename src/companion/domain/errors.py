"""Errors the domain raises. One place in the app maps them to HTTP and WS codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every error the domain decides."""

    code = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """A value breaks a rule of the domain (shape, length, range)."""

    code = "invalid_input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


class EmailAlreadyRegistered(DomainError):
    code = "email_taken"


class InvalidCredentials(DomainError):
    code = "invalid_credentials"


class UserNotFound(DomainError):
    code = "user_not_found"


class UserForgotten(DomainError):
    code = "user_forgotten"


class CharacterNotFound(DomainError):
    """Also raised for another user's character, so that its existence never leaks."""

    code = "character_not_found"


class AlreadyReplied(DomainError):
    code = "already_replied"


class MessageNotFound(DomainError):
    code = "message_not_found"


class ReplyNotLatest(DomainError):
    """A reply that later messages followed keeps the alternative they answered."""

    code = "conflict"


class IdempotencyConflict(DomainError):
    """A client's idempotency key (client_message_id, …) was reused for something else."""

    code = "idempotency_conflict"


class InsufficientGems(DomainError):
    """A purchase costs more gems than the wallet holds."""

    code = "insufficient_gems"


class WalletInDebt(DomainError):
    """Gems were taken back after being spent: purchases wait until the debt is settled."""

    code = "wallet_in_debt"


class AlreadyOwned(DomainError):
    """An item is owned once per character."""

    code = "already_owned"


class ItemNotFound(DomainError):
    """No such item in the catalogue, or it is no longer sold."""

    code = "item_not_found"


class ItemAlreadyListed(DomainError):
    code = "item_already_listed"


class TierRequired(DomainError):
    """The user's tier does not include this (a premium item, a capacity)."""

    code = "tier_required"


class ItemNotOwned(DomainError):
    """Equipping an item the character does not own."""

    code = "item_not_owned"


class LevelRequired(DomainError):
    """The item needs a higher relationship level with the character."""

    code = "level_required"


class MemoryNotFound(DomainError):
    """No such live memory of this user and character; also another user's or character's."""

    code = "memory_not_found"
