"""The store's catalogue: every item with its current price, and every price it had."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.domain.catalogue import CatalogItem
from projections.base import Projection, handles
from projections.store import ViewCursor, ViewStore, as_datetime, as_json, as_uuid


@dataclass(frozen=True)
class StoreItemView:
    item_id: UUID
    slug: str
    name: str
    category: str
    rarity: str
    price_gems: int
    price_yen: int
    is_premium: bool
    on_sale: bool
    effects: list[dict[str, Any]]
    min_level: int
    listed_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PriceView:
    at: datetime
    price_gems: int
    price_yen: int
    on_sale: bool


class CatalogueProjection(Projection):
    """One row per item, and one row per price change (listing, repricing, delisting)."""

    name = "catalogue"
    version = 1
    table_stems = ("store_items", "store_prices")

    @property
    def items_table(self) -> str:
        return self.table("store_items")

    @property
    def prices_table(self) -> str:
        return self.table("store_prices")

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.items_table} ("
            " item_id {uuid} PRIMARY KEY,"
            " slug TEXT NOT NULL,"
            " name TEXT NOT NULL,"
            " category TEXT NOT NULL,"
            " rarity TEXT NOT NULL,"
            " price_gems {bigint} NOT NULL,"
            " price_yen {bigint} NOT NULL,"
            " is_premium {bool} NOT NULL,"
            " on_sale {bool} NOT NULL,"
            " effects {json} NOT NULL,"
            " min_level {bigint} NOT NULL,"
            " listed_at {timestamp} NOT NULL,"
            " updated_at {timestamp} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.prices_table} ("
            " position {bigint} PRIMARY KEY,"
            " item_id {uuid} NOT NULL,"
            " at {timestamp} NOT NULL,"
            " price_gems {bigint} NOT NULL,"
            " price_yen {bigint} NOT NULL,"
            " on_sale {bool} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {self.prices_table}_item"
            f" ON {self.prices_table} (item_id, position)",
        ]

    @handles(CatalogItem.Listed)
    def _listed(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.items_table} (item_id, slug, name, category, rarity,"
            " price_gems, price_yen, is_premium, on_sale, effects, min_level,"
            " listed_at, updated_at)"
            " VALUES (:id, :slug, :name, :category, :rarity, :gems, :yen, :premium, TRUE,"
            " :effects, :min_level, :at, :at)",
            {
                "id": event.originator_id,
                "slug": event.slug,
                "name": event.name,
                "category": event.category,
                "rarity": event.rarity,
                "gems": event.price_gems,
                "yen": event.price_yen,
                "premium": bool(event.is_premium),
                "effects": list(event.effects),
                "min_level": event.min_level,
                "at": event.timestamp,
            },
        )
        self._price(cursor, event, position, event.price_gems, event.price_yen, on_sale=True)

    @handles(CatalogItem.Repriced)
    def _repriced(self, cursor: ViewCursor, event: Any, position: int) -> None:
        rows = cursor.query(
            f"SELECT on_sale FROM {self.items_table} WHERE item_id = :id",
            {"id": event.originator_id},
        )
        cursor.execute(
            f"UPDATE {self.items_table} SET price_gems = :gems, price_yen = :yen,"
            " updated_at = :at WHERE item_id = :id",
            {
                "gems": event.price_gems,
                "yen": event.price_yen,
                "at": event.timestamp,
                "id": event.originator_id,
            },
        )
        on_sale = bool(rows[0]["on_sale"]) if rows else True
        self._price(cursor, event, position, event.price_gems, event.price_yen, on_sale=on_sale)

    @handles(CatalogItem.Delisted)
    def _delisted(self, cursor: ViewCursor, event: Any, position: int) -> None:
        rows = cursor.query(
            f"SELECT price_gems, price_yen FROM {self.items_table} WHERE item_id = :id",
            {"id": event.originator_id},
        )
        cursor.execute(
            f"UPDATE {self.items_table} SET on_sale = FALSE, updated_at = :at WHERE item_id = :id",
            {"at": event.timestamp, "id": event.originator_id},
        )
        if rows:
            gems, yen = int(rows[0]["price_gems"]), int(rows[0]["price_yen"])
            self._price(cursor, event, position, gems, yen, on_sale=False)

    def _price(
        self,
        cursor: ViewCursor,
        event: Any,
        position: int,
        gems: int,
        yen: int,
        *,
        on_sale: bool,
    ) -> None:
        cursor.execute(
            f"INSERT INTO {self.prices_table} (position, item_id, at, price_gems, price_yen,"
            " on_sale) VALUES (:position, :id, :at, :gems, :yen, :on_sale)",
            {
                "position": position,
                "id": event.originator_id,
                "at": event.timestamp,
                "gems": gems,
                "yen": yen,
                "on_sale": on_sale,
            },
        )

    # -- queries -----------------------------------------------------------------------

    def items(self, store: ViewStore, *, include_delisted: bool = False) -> list[StoreItemView]:
        """Items on sale (or every item), by category, then price, then name."""
        where = "" if include_delisted else " WHERE on_sale = TRUE"
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.items_table}{where}"
                " ORDER BY category, price_gems, name, item_id"
            )
        return [_item(row) for row in rows]

    def get(self, store: ViewStore, item_id: UUID) -> StoreItemView | None:
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.items_table} WHERE item_id = :id", {"id": item_id}
            )
        return _item(rows[0]) if rows else None

    def prices(self, store: ViewStore, item_id: UUID) -> list[PriceView]:
        """Every price the item had, oldest first."""
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.prices_table} WHERE item_id = :id ORDER BY position",
                {"id": item_id},
            )
        return [
            PriceView(
                at=as_datetime(row["at"]),
                price_gems=int(row["price_gems"]),
                price_yen=int(row["price_yen"]),
                on_sale=bool(row["on_sale"]),
            )
            for row in rows
        ]

    def price_at(self, store: ViewStore, item_id: UUID, when: datetime) -> PriceView | None:
        """The price in effect at `when`, or None before the item was listed."""
        current = None
        for price in self.prices(store, item_id):
            if price.at > when:
                break
            current = price
        return current


def _item(row: dict[str, Any]) -> StoreItemView:
    return StoreItemView(
        item_id=as_uuid(row["item_id"]),
        slug=row["slug"],
        name=row["name"],
        category=row["category"],
        rarity=row["rarity"],
        price_gems=int(row["price_gems"]),
        price_yen=int(row["price_yen"]),
        is_premium=bool(row["is_premium"]),
        on_sale=bool(row["on_sale"]),
        effects=list(as_json(row["effects"])),
        min_level=int(row["min_level"]),
        listed_at=as_datetime(row["listed_at"]),
        updated_at=as_datetime(row["updated_at"]),
    )
