"""A user's wallet of gems: credits, refunds taken back, and items bought with gems.

The balance never goes below zero. Gems taken back after they were spent (a
refunded gem pack) become a debt: purchases stop until later credits settle it.
Every change is one ledger entry, and the balance is always the sum of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from companion.domain import validation
from companion.domain.errors import (
    AlreadyOwned,
    IdempotencyConflict,
    InsufficientGems,
    InvalidInput,
    WalletInDebt,
)
from companion.domain.identity import purchase_id as derive_purchase_id
from companion.domain.identity import wallet_id
from companion.domain.limits import (
    MAX_GEMS_PER_ENTRY,
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_REFERENCE_CHARS,
)

CREDIT_KINDS = ("gem_pack", "grant", "subscription_bonus")
"""The usual kinds of credit; any short snake_case word is accepted."""
REFUND = "refund"
DEBT_SETTLED = "debt_settled"
PURCHASE = "purchase"
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def check_gems(field: str, gems: int) -> int:
    """A whole, positive number of gems, at most MAX_GEMS_PER_ENTRY."""
    if isinstance(gems, bool) or not isinstance(gems, int):
        raise InvalidInput(field, "must be a whole number")
    if not 1 <= gems <= MAX_GEMS_PER_ENTRY:
        raise InvalidInput(field, f"must be from 1 to {MAX_GEMS_PER_ENTRY}")
    return gems


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise InvalidInput("kind", "must be a short snake_case word such as gem_pack")
    return kind


def check_reference(reference: str) -> str:
    return validation.text("reference", reference, max_length=MAX_REFERENCE_CHARS)


def check_idempotency_key(key: str) -> str:
    return validation.text("idempotency_key", key, max_length=MAX_IDEMPOTENCY_KEY_CHARS)


@dataclass(frozen=True)
class Purchase:
    """What a purchase answered; a replay of its idempotency key answers the same."""

    purchase_id: UUID
    item_id: UUID
    character_id: UUID
    price_gems: int
    balance: int
    """The balance right after the purchase."""


class Wallet(Aggregate):
    """The gems of one user. Its id follows from the user's (identity.wallet_id)."""

    class Opened(Aggregate.Created):
        user_id: UUID

    class GemsCredited(Aggregate.Event):
        gems: int
        kind: str
        reference: str
        sandbox: bool

    class GemsDebited(Aggregate.Event):
        """Gems leave the balance other than by a purchase (a refund, a debt settled).

        `debt` is how the debt changes with it: a refund of spent gems adds the
        part the balance could not cover, a settlement subtracts what it paid.
        """

        gems: int
        kind: str
        reference: str
        debt: int

    class ItemPurchased(Aggregate.Event):
        purchase_id: UUID
        item_id: UUID
        character_id: UUID
        gems: int
        idempotency_key: str
        effects: list[dict[str, Any]]
        """The item's effects as sold, so they apply from the purchase on."""

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return wallet_id(user_id)

    @classmethod
    def open(cls, user_id: UUID) -> Wallet:
        return cls(user_id=user_id)

    @event(Opened)
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.balance = 0
        self.debt = 0
        self.credits: dict[str, int] = {}
        """Gems credited per reference, so a repeated credit is recognised."""
        self.refunds: dict[str, int] = {}
        """Gems taken back per reference."""
        self.purchases: dict[str, Purchase] = {}
        """Purchases by idempotency key."""
        self.owned: set[tuple[UUID, UUID]] = set()
        """(character_id, item_id) of every item bought."""

    # -- credits and refunds -----------------------------------------------------

    def credit(self, gems: int, *, kind: str, reference: str, sandbox: bool = False) -> bool:
        """Add gems; returns False when this reference was already credited (nothing changes).

        A debt is settled first, from the gems just credited.
        """
        gems = check_gems("gems", gems)
        kind = check_kind(kind)
        reference = check_reference(reference)
        if reference in self.credits:
            if self.credits[reference] != gems:
                raise IdempotencyConflict(f"reference {reference} was credited another amount")
            return False
        self._credit(gems=gems, kind=kind, reference=reference, sandbox=bool(sandbox))
        if self.debt:
            settled = min(self.debt, self.balance)
            self._debit(gems=settled, kind=DEBT_SETTLED, reference=reference, debt=-settled)
        return True

    @event(GemsCredited)
    def _credit(self, gems: int, kind: str, reference: str, sandbox: bool) -> None:
        self.credits[reference] = gems
        self.balance += gems

    def take_back(self, gems: int, *, reference: str) -> bool:
        """Remove refunded gems; what was already spent becomes a debt.

        Returns False when this reference was already taken back.
        """
        gems = check_gems("gems", gems)
        reference = check_reference(reference)
        if reference in self.refunds:
            if self.refunds[reference] != gems:
                raise IdempotencyConflict(f"reference {reference} was taken back another amount")
            return False
        covered = min(gems, self.balance)
        self._debit(gems=covered, kind=REFUND, reference=reference, debt=gems - covered)
        return True

    @event(GemsDebited)
    def _debit(self, gems: int, kind: str, reference: str, debt: int) -> None:
        if kind == REFUND:
            self.refunds[reference] = gems + debt
        self.balance -= gems
        self.debt += debt

    # -- purchases ---------------------------------------------------------------

    def purchase(
        self,
        *,
        item_id: UUID,
        price_gems: int,
        character_id: UUID,
        idempotency_key: str,
        effects: Sequence[Mapping[str, Any]] = (),
    ) -> Purchase:
        """Buy an item for a character at the catalogue's price, once per idempotency key.

        The same key again answers the first purchase; with another item or
        character it is an IdempotencyConflict.
        """
        key = check_idempotency_key(idempotency_key)
        earlier = self.replay(idempotency_key=key, item_id=item_id, character_id=character_id)
        if earlier is not None:
            return earlier
        price = check_gems("price_gems", price_gems)
        if self.debt:
            raise WalletInDebt(f"{self.debt} refunded gems are owed; buy gems to settle them")
        if (character_id, item_id) in self.owned:
            raise AlreadyOwned("this character already owns this item")
        if price > self.balance:
            raise InsufficientGems(f"costs {price} gems, the wallet holds {self.balance}")
        self._purchase(
            purchase_id=derive_purchase_id(self.id, key),
            item_id=item_id,
            character_id=character_id,
            gems=price,
            idempotency_key=key,
            effects=[dict(effect) for effect in effects],
        )
        return self.purchases[key]

    @event(ItemPurchased)
    def _purchase(
        self,
        purchase_id: UUID,
        item_id: UUID,
        character_id: UUID,
        gems: int,
        idempotency_key: str,
        effects: list[dict[str, Any]],
    ) -> None:
        self.balance -= gems
        self.owned.add((character_id, item_id))
        self.purchases[idempotency_key] = Purchase(
            purchase_id=purchase_id,
            item_id=item_id,
            character_id=character_id,
            price_gems=gems,
            balance=self.balance,
        )

    def replay(self, *, idempotency_key: str, item_id: UUID, character_id: UUID) -> Purchase | None:
        """The purchase this key already made, None if none; IdempotencyConflict if it
        bought another item or for another character."""
        earlier = self.purchases.get(idempotency_key)
        if earlier is not None and (earlier.item_id, earlier.character_id) != (
            item_id,
            character_id,
        ):
            raise IdempotencyConflict("idempotency_key was used for another purchase")
        return earlier

    def owns(self, character_id: UUID, item_id: UUID) -> bool:
        return (character_id, item_id) in self.owned
