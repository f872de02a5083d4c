"""Deterministic identities: a use case finds an aggregate from its natural key."""

from __future__ import annotations

import re
from uuid import UUID, uuid5

from companion.domain.errors import InvalidInput
from companion.domain.limits import MAX_EMAIL_CHARS

COMPANION_NAMESPACE = UUID("6f0c3c1e-5b7e-4a57-9a0e-6e1c0b2f6d21")

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is
# the mailer's business, not the domain's.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = MAX_EMAIL_CHARS


def normalise_email(email: str) -> str:
    """Lower-case and trim an email, or raise InvalidInput if it has no email shape."""
    normalised = email.strip().lower()
    if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL.match(normalised):
        raise InvalidInput("email", "is not an email address")
    return normalised


def email_claim_id(email: str) -> UUID:
    """The id of the aggregate that reserves an email: one per normalised email."""
    return uuid5(COMPANION_NAMESPACE, "email:" + normalise_email(email))


def conversation_id(user_id: UUID, character_id: UUID) -> UUID:
    """One conversation per user × character."""
    return uuid5(COMPANION_NAMESPACE, f"conversation:{user_id}:{character_id}")


def user_message_id(conversation: UUID, client_message_id: str, sequence: int) -> UUID:
    """The id of a message a client named: the same for the same client id at the same point.

    The conversation's sequence number keeps ids unique even when a client
    reuses an id the conversation no longer remembers.
    """
    return uuid5(conversation, f"user-message:{sequence}:{client_message_id}")


def reply_id(user_message: UUID) -> UUID:
    """Each user message gets at most one reply, so its id follows from the message's."""
    return uuid5(user_message, "reply")


def wallet_id(user_id: UUID) -> UUID:
    """One wallet per user."""
    return uuid5(COMPANION_NAMESPACE, f"wallet:{user_id}")


def catalog_item_id(slug: str) -> UUID:
    """A catalogue item's id follows from its slug, so listing the same item twice collides."""
    return uuid5(COMPANION_NAMESPACE, f"catalog-item:{slug}")


def purchase_id(wallet: UUID, idempotency_key: str) -> UUID:
    """The same idempotency key in the same wallet names the same purchase."""
    return uuid5(wallet, f"purchase:{idempotency_key}")


def emotion_state_id(user_id: UUID, character_id: UUID) -> UUID:
    """One emotion state per user × character."""
    return uuid5(COMPANION_NAMESPACE, f"emotion-state:{user_id}:{character_id}")


def daily_life_id(character_id: UUID, day: str) -> UUID:
    """One day of a character's life (`day` as YYYY-MM-DD): lived once, whoever lives it."""
    return uuid5(COMPANION_NAMESPACE, f"daily-life:{character_id}:{day}")


def memory_book_id(user_id: UUID, character_id: UUID) -> UUID:
    """One memory book per user × character."""
    return uuid5(COMPANION_NAMESPACE, f"memory-book:{user_id}:{character_id}")
