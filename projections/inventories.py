"""Inventories: each user's gems, their ledger, the items they own per character, and
what each character wears.

Every wallet event is one ledger entry, carrying the balance after it; the
balance of `inventory_wallets` is always the last entry's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.domain.characters import Character
from companion.domain.wallet import PURCHASE, Wallet
from projections.base import Projection, handles
from projections.store import ViewCursor, ViewStore, as_datetime, as_json, as_uuid


@dataclass(frozen=True)
class LedgerEntry:
    at: datetime
    kind: str
    gems: int
    """Signed: credits add, refunds, settlements and purchases take away."""
    balance: int
    reference: str


@dataclass(frozen=True)
class OwnedItem:
    purchase_id: UUID
    item_id: UUID
    character_id: UUID
    price_gems: int
    effects: list[dict[str, Any]]
    purchased_at: datetime


@dataclass(frozen=True)
class Inventory:
    user_id: UUID
    gems: int
    owed: int
    """Gems taken back after being spent; purchases wait until it is 0."""
    items: list[OwnedItem]
    equipped: dict[UUID, dict[str, UUID]]
    """Per character of the user that wears anything: slot → item."""


class InventoriesProjection(Projection):
    """Wallet balances, ledgers, owned items and equipped slots, per user."""

    name = "inventories"
    version = 1
    table_stems = ("inventory_wallets", "inventory_ledger", "inventory_items", "inventory_equipped")

    @property
    def wallets(self) -> str:
        return self.table("inventory_wallets")

    @property
    def ledger(self) -> str:
        return self.table("inventory_ledger")

    @property
    def items(self) -> str:
        return self.table("inventory_items")

    @property
    def equipped(self) -> str:
        return self.table("inventory_equipped")

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.wallets} ("
            " wallet_id {uuid} PRIMARY KEY,"
            " user_id {uuid} NOT NULL UNIQUE,"
            " gems {bigint} NOT NULL,"
            " owed {bigint} NOT NULL,"
            " updated_at {timestamp} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.ledger} ("
            " position {bigint} PRIMARY KEY,"
            " user_id {uuid} NOT NULL,"
            " at {timestamp} NOT NULL,"
            " kind TEXT NOT NULL,"
            " gems {bigint} NOT NULL,"
            " balance {bigint} NOT NULL,"
            " reference TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {self.ledger}_user ON {self.ledger} (user_id, position)",
            f"CREATE TABLE IF NOT EXISTS {self.items} ("
            " purchase_id {uuid} PRIMARY KEY,"
            " user_id {uuid} NOT NULL,"
            " character_id {uuid} NOT NULL,"
            " item_id {uuid} NOT NULL,"
            " price_gems {bigint} NOT NULL,"
            " effects {json} NOT NULL,"
            " purchased_at {timestamp} NOT NULL,"
            " position {bigint} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {self.items}_user ON {self.items} (user_id, position)",
            f"CREATE TABLE IF NOT EXISTS {self.equipped} ("
            " slot_key TEXT PRIMARY KEY,"
            " character_id {uuid} NOT NULL,"
            " slot TEXT NOT NULL,"
            " item_id {uuid} NOT NULL,"
            " equipped_at {timestamp} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {self.equipped}_character"
            f" ON {self.equipped} (character_id)",
        ]

    # -- handlers ----------------------------------------------------------------------

    @handles(Wallet.Opened)
    def _opened(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.wallets} (wallet_id, user_id, gems, owed, updated_at)"
            " VALUES (:id, :user_id, 0, 0, :at)",
            {"id": event.originator_id, "user_id": event.user_id, "at": event.timestamp},
        )

    @handles(Wallet.GemsCredited)
    def _credited(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._entry(cursor, event, position, event.kind, event.gems, 0, event.reference)

    @handles(Wallet.GemsDebited)
    def _debited(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._entry(cursor, event, position, event.kind, -event.gems, event.debt, event.reference)

    @handles(Wallet.ItemPurchased)
    def _purchased(self, cursor: ViewCursor, event: Any, position: int) -> None:
        user_id = self._entry(
            cursor, event, position, PURCHASE, -event.gems, 0, str(event.purchase_id)
        )
        cursor.execute(
            f"INSERT INTO {self.items} (purchase_id, user_id, character_id, item_id,"
            " price_gems, effects, purchased_at, position)"
            " VALUES (:purchase_id, :user_id, :character_id, :item_id, :gems, :effects,"
            " :at, :position)",
            {
                "purchase_id": event.purchase_id,
                "user_id": user_id,
                "character_id": event.character_id,
                "item_id": event.item_id,
                "gems": event.gems,
                "effects": list(event.effects),
                "at": event.timestamp,
                "position": position,
            },
        )

    @handles(Character.ItemEquipped)
    def _equipped(self, cursor: ViewCursor, event: Any, position: int) -> None:
        key = f"{event.originator_id}:{event.slot}"
        cursor.execute(f"DELETE FROM {self.equipped} WHERE slot_key = :key", {"key": key})
        cursor.execute(
            f"INSERT INTO {self.equipped} (slot_key, character_id, slot, item_id, equipped_at)"
            " VALUES (:key, :character_id, :slot, :item_id, :at)",
            {
                "key": key,
                "character_id": event.originator_id,
                "slot": event.slot,
                "item_id": event.item_id,
                "at": event.timestamp,
            },
        )

    def _entry(
        self,
        cursor: ViewCursor,
        event: Any,
        position: int,
        kind: str,
        gems: int,
        owed: int,
        reference: str,
    ) -> UUID:
        """Move the balance by `gems` and the debt by `owed`; write the ledger entry."""
        rows = cursor.query(
            f"SELECT user_id, gems, owed FROM {self.wallets} WHERE wallet_id = :id",
            {"id": event.originator_id},
        )
        row = rows[0]
        balance = int(row["gems"]) + gems
        cursor.execute(
            f"UPDATE {self.wallets} SET gems = :gems, owed = :owed, updated_at = :at"
            " WHERE wallet_id = :id",
            {
                "gems": balance,
                "owed": int(row["owed"]) + owed,
                "at": event.timestamp,
                "id": event.originator_id,
            },
        )
        user_id = as_uuid(row["user_id"])
        cursor.execute(
            f"INSERT INTO {self.ledger} (position, user_id, at, kind, gems, balance, reference)"
            " VALUES (:position, :user_id, :at, :kind, :gems, :balance, :reference)",
            {
                "position": position,
                "user_id": user_id,
                "at": event.timestamp,
                "kind": kind,
                "gems": gems,
                "balance": balance,
                "reference": reference,
            },
        )
        return user_id

    # -- queries -----------------------------------------------------------------------

    def inventory(self, store: ViewStore, user_id: UUID) -> Inventory:
        """The user's inventory; an empty one before their wallet opens."""
        with store.read() as cursor:
            wallets = cursor.query(
                f"SELECT gems, owed FROM {self.wallets} WHERE user_id = :id", {"id": user_id}
            )
            items = cursor.query(
                f"SELECT * FROM {self.items} WHERE user_id = :id ORDER BY position",
                {"id": user_id},
            )
            characters = sorted({str(row["character_id"]) for row in items})
            equipped_rows = [
                row
                for character in characters
                for row in cursor.query(
                    f"SELECT character_id, slot, item_id FROM {self.equipped}"
                    " WHERE character_id = :id ORDER BY slot",
                    {"id": as_uuid(character)},
                )
            ]
        equipped: dict[UUID, dict[str, UUID]] = {}
        for row in equipped_rows:
            equipped.setdefault(as_uuid(row["character_id"]), {})[row["slot"]] = as_uuid(
                row["item_id"]
            )
        return Inventory(
            user_id=user_id,
            gems=int(wallets[0]["gems"]) if wallets else 0,
            owed=int(wallets[0]["owed"]) if wallets else 0,
            items=[_owned(row) for row in items],
            equipped=equipped,
        )

    def gems(self, store: ViewStore, user_id: UUID) -> int:
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT gems FROM {self.wallets} WHERE user_id = :id", {"id": user_id}
            )
        return int(rows[0]["gems"]) if rows else 0

    def ledger_of(
        self, store: ViewStore, user_id: UUID, *, limit: int | None = None
    ) -> list[LedgerEntry]:
        """The user's ledger, oldest first (the last `limit` entries when given)."""
        with store.read() as cursor:
            if limit is None:
                rows = cursor.query(
                    f"SELECT * FROM {self.ledger} WHERE user_id = :id ORDER BY position",
                    {"id": user_id},
                )
            else:
                rows = cursor.query(
                    f"SELECT * FROM {self.ledger} WHERE user_id = :id"
                    " ORDER BY position DESC LIMIT :limit",
                    {"id": user_id, "limit": limit},
                )
                rows.reverse()
        return [
            LedgerEntry(
                at=as_datetime(row["at"]),
                kind=row["kind"],
                gems=int(row["gems"]),
                balance=int(row["balance"]),
                reference=row["reference"],
            )
            for row in rows
        ]


def _owned(row: dict[str, Any]) -> OwnedItem:
    return OwnedItem(
        purchase_id=as_uuid(row["purchase_id"]),
        item_id=as_uuid(row["item_id"]),
        character_id=as_uuid(row["character_id"]),
        price_gems=int(row["price_gems"]),
        effects=list(as_json(row["effects"])),
        purchased_at=as_datetime(row["purchased_at"]),
    )
