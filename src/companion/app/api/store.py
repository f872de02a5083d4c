"""The store: the catalogue, purchases in gems, gem packs, inventories, the ledger, and
what a character's avatar wears."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from companion.app.api import schemas
from companion.app.api.dependencies import CommerceDep, ReadsDep, ReadYourWritesDep, UserId
from companion.app.api.emotion import avatar_out
from companion.app.api.openapi import errors
from companion.domain.catalogue import GEM_PACKS, YEN_PER_GEM, active_effects
from companion.domain.errors import InvalidInput
from projections.catalogue import StoreItemView

MAX_LEDGER_ENTRIES = 500


def _item_out(view: StoreItemView) -> schemas.StoreItemOut:
    return schemas.StoreItemOut(
        item_id=view.item_id,
        name=view.name,
        category=view.category,  # type: ignore[arg-type]  # one of CATEGORIES
        rarity=view.rarity,  # type: ignore[arg-type]  # one of RARITIES
        price_gems=view.price_gems,
        price_yen=view.price_yen,
        is_premium=view.is_premium,
        min_level=view.min_level,
        effects=[schemas.ItemEffectOut(**effect) for effect in view.effects],
    )


class StoreController(Controller):
    path = "/api/v1"
    tags = ["store"]  # noqa: RUF012

    @get("/store/items", operation_id="listStoreItems", sync_to_thread=True)
    def items(self, reads: ReadsDep, user_id: UserId) -> schemas.StoreItems:
        """The items on sale, by category, then price."""
        views = reads.catalogue.items()
        return schemas.StoreItems(items=[_item_out(view) for view in views])

    @post(
        "/store/purchases",
        status_code=HTTP_201_CREATED,
        operation_id="purchaseItem",
        sync_to_thread=True,
        responses=errors(402, 403, 404, 409),
    )
    def purchase(
        self,
        data: JSONBody[schemas.PurchaseBody],
        commerce: CommerceDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> schemas.PurchaseOut:
        """Buy an item for a character, paid in gems at the catalogue's price.

        The same `idempotency_key` again answers the first purchase; with
        another item or character it is a 409 (`idempotency_conflict`).
        """
        outcome = commerce.purchase(
            user_id=user_id,
            item_id=data.item_id,
            character_id=data.character_id,
            idempotency_key=data.idempotency_key,
        )
        read_your_writes(request, outcome.position, ["inventories"])
        return schemas.PurchaseOut(
            purchase_id=outcome.purchase.purchase_id, gems=outcome.purchase.balance
        )

    @get("/gems/packs", operation_id="listGemPacks", sync_to_thread=True)
    def gem_packs(self, user_id: UserId) -> schemas.GemPacks:
        return schemas.GemPacks(
            packs=[
                schemas.GemPackOut(pack_id=pack.pack_id, gems=pack.gems, price_yen=pack.price_yen)
                for pack in GEM_PACKS
            ],
            yen_per_gem=YEN_PER_GEM,
        )

    @get("/inventory", operation_id="inventory", sync_to_thread=True)
    def inventory(self, reads: ReadsDep, user_id: UserId) -> schemas.InventoryOut:
        """Gems, the items owned per character with their effects in force, and what each
        character wears."""
        inventory = reads.inventories.inventory(user_id)
        now = datetime.now(UTC)
        return schemas.InventoryOut(
            gems=inventory.gems,
            owed=inventory.owed,
            items=[
                schemas.InventoryItemOut(
                    item_id=item.item_id,
                    character_id=item.character_id,
                    purchased_at=item.purchased_at,
                    effects=[
                        schemas.ActiveEffectOut(**effect)
                        for effect in active_effects(item.effects, item.purchased_at, now)
                    ],
                )
                for item in inventory.items
            ],
            equipped={
                str(character): dict(slots) for character, slots in inventory.equipped.items()
            },
        )

    @get("/wallet/ledger", operation_id="walletLedger", sync_to_thread=True)
    def ledger(
        self,
        reads: ReadsDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LEDGER_ENTRIES)] = 100,
    ) -> schemas.LedgerOut:
        """The last `limit` entries of the wallet, oldest first."""
        unknown = sorted(set(request.query_params) - {"limit"})
        if unknown:
            raise InvalidInput("query", f"unknown parameter(s): {', '.join(unknown)}")
        entries = reads.inventories.ledger_of(user_id, limit=limit)
        return schemas.LedgerOut(
            entries=[
                schemas.LedgerEntryOut(
                    at=entry.at,
                    kind=entry.kind,
                    gems=entry.gems,
                    balance=entry.balance,
                    reference=entry.reference,
                )
                for entry in entries
            ]
        )

    @put(
        "/characters/{character_id:uuid}/avatar/equipment",
        operation_id="equipItem",
        sync_to_thread=True,
        responses=errors(403, 409),
    )
    def equip(
        self,
        character_id: FromPath[UUID],
        data: JSONBody[schemas.EquipmentBody],
        commerce: CommerceDep,
        reads: ReadsDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> schemas.AvatarOut:
        """Put an item the character owns in its slot; answers the avatar as GET …/avatar does."""
        position = commerce.equip(
            user_id=user_id, character_id=character_id, slot=data.slot, item_id=data.item_id
        )
        read_your_writes(request, position, ["characters", "inventories"])
        return avatar_out(reads, user_id, character_id)
