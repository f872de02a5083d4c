"""`companion catalogue …`: list, add, reprice and delist the store's items.

Every change is an event of the item (Listed, Repriced, Delisted), so the
price an item had at any past moment stays known: `list --at`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.table import Table

from companion.app.cli.common import FAILURE, DatabaseUrl, fail, opened, out

if TYPE_CHECKING:
    from companion.app.bootstrap import Companion
    from projections.catalogue import StoreItemView

catalogue_app = typer.Typer(
    help="The store's catalogue: list, add, reprice, delist.", no_args_is_help=True
)

# The domain's CATEGORIES and RARITIES, spelled here so that declaring the commands
# imports no aggregate; the domain refuses any other value.
CATEGORY_CHOICES = "hair | outfit | accessories | expressions"
RARITY_CHOICES = "common | rare | epic | legendary"
ItemArgument = Annotated[str, typer.Argument(help="the item's id or its slug")]


@contextmanager
def _decided() -> Iterator[None]:
    """A domain refusal is one line on stderr: bad input exits 2, a state conflict 1."""
    from companion.domain.errors import DomainError, InvalidInput

    try:
        yield
    except InvalidInput as error:
        fail(error.detail)
    except DomainError as error:
        fail(error.detail, code=FAILURE)


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at: {value!r} is not an ISO 8601 date or time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@catalogue_app.command("list")
def list_items(
    ctx: typer.Context,
    all_items: Annotated[bool, typer.Option("--all", help="also the items no longer sold")] = False,
    at: Annotated[
        str | None,
        typer.Option(help="prices as they were at this moment (ISO 8601; UTC if no zone)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The catalogue with its prices in gems and yen, now or at a past moment."""
    when = _moment(at) if at is not None else None
    with opened(ctx, database_url, create_store=False) as companion:
        catalogue = companion.read_models.catalogue
        companion.runner.catch_up(catalogue)
        rows = [
            row
            for item in catalogue.items(companion.views, include_delisted=all_items or bool(when))
            if (row := _row(companion, item, when)) is not None
        ]
    if as_json:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), highlight=False, soft_wrap=True)
        return
    table = Table(
        "item_id", "slug", "name", "category", "rarity", "gems", "yen", "premium", "on sale"
    )
    for row in rows:
        table.add_row(
            row["item_id"],
            row["slug"],
            row["name"],
            row["category"],
            row["rarity"],
            str(row["price_gems"]),
            str(row["price_yen"]),
            "yes" if row["is_premium"] else "no",
            "yes" if row["on_sale"] else "no",
        )
    out.print(table)


def _row(companion: Companion, item: StoreItemView, when: datetime | None) -> dict[str, Any] | None:
    gems, yen, on_sale = item.price_gems, item.price_yen, item.on_sale
    if when is not None:
        price = companion.read_models.catalogue.price_at(companion.views, item.item_id, when)
        if price is None:
            return None  # not listed yet at that moment
        gems, yen, on_sale = price.price_gems, price.price_yen, price.on_sale
    return {
        "item_id": str(item.item_id),
        "slug": item.slug,
        "name": item.name,
        "category": item.category,
        "rarity": item.rarity,
        "price_gems": gems,
        "price_yen": yen,
        "is_premium": item.is_premium,
        "on_sale": on_sale,
    }


@catalogue_app.command("add")
def add_item(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="lower-case letters, digits and dashes")],
    name: Annotated[str, typer.Option(help="the name shown in the store")],
    category: Annotated[str, typer.Option(help=CATEGORY_CHOICES)],
    gems: Annotated[int, typer.Option(help="the price in gems")],
    rarity: Annotated[str, typer.Option(help=RARITY_CHOICES)] = "common",
    yen: Annotated[
        int | None, typer.Option(help="the price in yen (default: gems at the exchange rate)")
    ] = None,
    premium: Annotated[bool, typer.Option(help="needs a paying tier")] = False,
    min_level: Annotated[int, typer.Option(help="the relationship level it needs")] = 1,
    effect: Annotated[
        list[str] | None,
        typer.Option(
            help='an effect as JSON, e.g. {"type": "stat_boost", "parameters": {"amount": 5},'
            ' "duration_ms": 3600000}; repeatable'
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List a new item; prints its id."""
    effects = []
    for text in effect or []:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            fail(f"--effect: {text!r} is not JSON")
        if not isinstance(parsed, dict):
            fail("--effect: must be a JSON object")
        effects.append(parsed)
    with opened(ctx, database_url) as companion, _decided():
        item_id, _ = companion.commerce.list_item(
            slug=slug,
            name=name,
            category=category,
            rarity=rarity,
            price_gems=gems,
            price_yen=yen,
            is_premium=premium,
            effects=effects,
            min_level=min_level,
        )
    out.print(str(item_id), highlight=False)


@catalogue_app.command("reprice")
def reprice_item(
    ctx: typer.Context,
    item: ItemArgument,
    gems: Annotated[int | None, typer.Option(help="the new price in gems")] = None,
    yen: Annotated[int | None, typer.Option(help="the new price in yen")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A new price from now on; earlier purchases keep the price they paid."""
    if gems is None and yen is None:
        fail("give --gems, --yen or both")
    with opened(ctx, database_url, create_store=False) as companion, _decided():
        item_id = _item_id(companion, item)
        companion.commerce.reprice(item_id, price_gems=gems, price_yen=yen)
        repriced = companion.commerce.item(item_id)
    out.print(f"{item_id} {repriced.price_gems} gems {repriced.price_yen} yen", highlight=False)


@catalogue_app.command("delist")
def delist_item(ctx: typer.Context, item: ItemArgument, database_url: DatabaseUrl = None) -> None:
    """No longer sold; owners keep it."""
    with opened(ctx, database_url, create_store=False) as companion, _decided():
        item_id = _item_id(companion, item)
        companion.commerce.delist(item_id)
    out.print(f"{item_id} delisted", highlight=False)


def _item_id(companion: Companion, item: str) -> UUID:
    item_id = companion.commerce.item_id(item)
    companion.commerce.item(item_id)  # ItemNotFound when there is none
    return item_id
