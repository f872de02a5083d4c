"""Use cases of the store: the catalogue, gems, purchases and equipment.

Over the unit of work, so that prices always come from the stored catalogue
and every write to a wallet is decided again on a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from companion.app.accounts import known_user
from companion.app.characters import owned_character
from companion.app.unit_of_work import UnitOfWork
from companion.domain.catalogue import DEFAULT_CATALOGUE, CatalogItem, check_slug
from companion.domain.characters import Character
from companion.domain.entitlements import ensure_premium_items
from companion.domain.errors import (
    CharacterNotFound,
    InvalidInput,
    ItemAlreadyListed,
    ItemNotFound,
    ItemNotOwned,
    LevelRequired,
)
from companion.domain.identity import catalog_item_id, wallet_id
from companion.domain.wallet import Purchase, Wallet, check_idempotency_key

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PurchaseOutcome:
    purchase: Purchase
    position: int | None
    """The position of the purchase's event; None when a replayed key wrote nothing."""


class Commerce:
    """The store's use cases over one unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    # -- the catalogue -----------------------------------------------------------

    def load_default_catalogue(self) -> int:
        """List every default item not yet listed; returns how many were listed.

        Item ids follow from their slugs, so processes starting together list
        each item once: the second save of an item is refused and skipped.
        """
        listed = 0
        for default in DEFAULT_CATALOGUE:
            if self._exists(default.item_id):
                continue
            try:
                self.uow.save(default.listing())
            except IntegrityError:
                continue
            listed += 1
        if listed:
            log.info("catalogue.defaults_listed", items=listed)
        return listed

    def list_item(
        self,
        *,
        slug: str,
        name: str,
        category: str,
        rarity: str,
        price_gems: int,
        price_yen: int | None = None,
        is_premium: bool = False,
        effects: Sequence[Mapping[str, Any]] = (),
        min_level: int = 1,
    ) -> tuple[UUID, int | None]:
        """A new item on sale; ItemAlreadyListed when its slug is taken."""
        item = CatalogItem.new(
            slug=slug,
            name=name,
            category=category,
            rarity=rarity,
            price_gems=price_gems,
            price_yen=price_yen,
            is_premium=is_premium,
            effects=effects,
            min_level=min_level,
        )
        if self._exists(item.id):
            raise ItemAlreadyListed(f"an item with slug {item.slug} is already listed")
        try:
            position = self.uow.save(item)
        except IntegrityError:
            raise ItemAlreadyListed(f"an item with slug {item.slug} is already listed") from None
        log.info("catalogue.listed", item_id=str(item.id), slug=item.slug)
        return item.id, position

    def reprice(
        self, item_id: UUID, *, price_gems: int | None = None, price_yen: int | None = None
    ) -> int | None:
        def save() -> int | None:
            item = self._item(item_id, to_change=True)
            item.reprice(price_gems=price_gems, price_yen=price_yen)
            return self.uow.save(item)

        position = self.uow.retry(save)
        log.info("catalogue.repriced", item_id=str(item_id))
        return position

    def delist(self, item_id: UUID) -> int | None:
        def save() -> int | None:
            item = self._item(item_id, to_change=True)
            item.delist()
            return self.uow.save(item)

        position = self.uow.retry(save)
        log.info("catalogue.delisted", item_id=str(item_id))
        return position

    def item(self, item_id: UUID) -> CatalogItem:
        """The item, to read only."""
        return self._item(item_id, to_change=False)

    def item_id(self, item: str) -> UUID:
        """An item named by its id or its slug."""
        try:
            return UUID(item)
        except ValueError:
            return catalog_item_id(check_slug(item))

    def _item(self, item_id: UUID, *, to_change: bool) -> CatalogItem:
        item = self.uow.find(CatalogItem, item_id, to_change=to_change)
        if item is None:
            raise ItemNotFound("no such item")
        return item

    def _exists(self, aggregate_id: UUID) -> bool:
        return self.uow.exists(aggregate_id)

    # -- gems --------------------------------------------------------------------

    def wallet(self, user_id: UUID) -> Wallet | None:
        """The user's wallet to read only, or None before its first credit."""
        return self.uow.find(Wallet, wallet_id(user_id), to_change=False)

    def wallet_to_change(self, user_id: UUID) -> Wallet:
        """The user's wallet as a private copy, opened if it has never been."""
        return self.uow.find(Wallet, wallet_id(user_id)) or Wallet.open(user_id)

    def credit_gems(
        self, user_id: UUID, gems: int, *, kind: str, reference: str, sandbox: bool = False
    ) -> int | None:
        """Credit gems (a grant, a bonus); the same reference again changes nothing."""
        known_user(self.uow, user_id)

        def save() -> int | None:
            wallet = self.wallet_to_change(user_id)
            wallet.credit(gems, kind=kind, reference=reference, sandbox=sandbox)
            return self.uow.save(wallet)

        position = self.uow.retry(save)
        log.info("wallet.credited", user_id=str(user_id), gems=gems, kind=kind)
        return position

    def take_back_gems(self, user_id: UUID, gems: int, *, reference: str) -> int | None:
        def save() -> int | None:
            wallet = self.wallet_to_change(user_id)
            wallet.take_back(gems, reference=reference)
            return self.uow.save(wallet)

        position = self.uow.retry(save)
        log.info("wallet.taken_back", user_id=str(user_id), gems=gems)
        return position

    # -- purchases and equipment -------------------------------------------------

    def purchase(
        self, *, user_id: UUID, item_id: UUID, character_id: UUID, idempotency_key: str
    ) -> PurchaseOutcome:
        """Buy an item for one of the user's characters, at the catalogue's price, in gems.

        The same idempotency key again answers the first purchase, whatever
        has changed since; with another item or character it is refused.
        """
        key = check_idempotency_key(idempotency_key)

        def save() -> PurchaseOutcome:
            user = known_user(self.uow, user_id)
            character = owned_character(self.uow, user_id=user_id, character_id=character_id)
            wallet = self.wallet_to_change(user_id)
            earlier = wallet.replay(idempotency_key=key, item_id=item_id, character_id=character_id)
            if earlier is not None:
                return PurchaseOutcome(earlier, None)
            item = self.item(item_id)
            if not item.on_sale:
                raise ItemNotFound("this item is no longer sold")
            if item.is_premium:
                ensure_premium_items(user.tier)
            if character.relationship_level < item.min_level:
                raise LevelRequired(f"this item needs relationship level {item.min_level}")
            purchase = wallet.purchase(
                item_id=item.id,
                price_gems=item.price_gems,
                character_id=character_id,
                idempotency_key=key,
                effects=item.effects,
            )
            return PurchaseOutcome(purchase, self.uow.save(wallet))

        outcome = self.uow.retry(save)
        if outcome.position is not None:
            log.info(
                "store.purchased",
                user_id=str(user_id),
                item_id=str(item_id),
                gems=outcome.purchase.price_gems,
            )
        return outcome

    def equip(self, *, user_id: UUID, character_id: UUID, slot: str, item_id: UUID) -> int | None:
        """Put an item the character owns on its slot of the avatar."""

        def save() -> int | None:
            user = known_user(self.uow, user_id)
            character = self.uow.find(Character, character_id)
            if character is None:
                raise CharacterNotFound("no such character")
            character.ensure_owned_by(user_id)
            item = self.item(item_id)
            if slot != item.slot:
                raise InvalidInput("slot", f"this item goes in the {item.slot} slot")
            wallet = self.wallet(user_id)
            if wallet is None or not wallet.owns(character_id, item_id):
                raise ItemNotOwned("this character does not own this item")
            if item.is_premium:
                ensure_premium_items(user.tier)
            character.equip(slot, item_id)
            return self.uow.save(character)

        position = self.uow.retry(save)
        log.info("avatar.equipped", character_id=str(character_id), slot=slot)
        return position
