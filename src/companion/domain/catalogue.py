"""The store's catalogue: items for the avatar, their prices over time, and gem packs.

Each item is an aggregate whose id follows from its slug, so listing the
default catalogue from two processes at once lists every item once. Its
events (Listed, Repriced, Delisted) keep every price it ever had, so the price
at any past moment is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from companion.domain import validation
from companion.domain.errors import InvalidInput, ItemNotFound
from companion.domain.identity import catalog_item_id
from companion.domain.limits import MAX_GEMS_PER_ENTRY, MAX_ITEM_NAME_CHARS, MAX_PRICE_YEN

Category = Literal["hair", "outfit", "accessories", "expressions"]
CATEGORIES: tuple[Category, ...] = ("hair", "outfit", "accessories", "expressions")
Rarity = Literal["common", "rare", "epic", "legendary"]
RARITIES: tuple[Rarity, ...] = ("common", "rare", "epic", "legendary")
EFFECT_TYPES = ("stat_boost", "new_animation", "voice_pack", "expression_set")
SLOTS: tuple[str, ...] = CATEGORIES
"""An avatar has one slot per category; an item goes in the slot of its category."""

YEN_PER_GEM = 2
"""The exchange rate of the virtual currency: what one gem is worth in yen."""
GEM_SYMBOL = "💎"
MAX_EFFECTS = 8
MAX_EFFECT_DURATION_MS = 30 * 24 * 3600 * 1000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


# -- gem packs -------------------------------------------------------------------


@dataclass(frozen=True)
class GemPack:
    """Gems sold for yen: the base at the exchange rate, plus a bonus for larger packs."""

    pack_id: str
    gems: int
    price_yen: int


GEM_PACKS: tuple[GemPack, ...] = (
    GemPack("gems-100", 100, 100 * YEN_PER_GEM),
    GemPack("gems-550", 550, 500 * YEN_PER_GEM),
    GemPack("gems-1200", 1200, 1000 * YEN_PER_GEM),
    GemPack("gems-6500", 6500, 5000 * YEN_PER_GEM),
)


def gem_pack(pack_id: str) -> GemPack:
    """The gem pack with this id, or ItemNotFound."""
    for pack in GEM_PACKS:
        if pack.pack_id == pack_id:
            return pack
    raise ItemNotFound(f"no gem pack {pack_id!r}")


# -- checks ----------------------------------------------------------------------


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise InvalidInput("slug", "must be lower-case letters, digits and dashes (at most 64)")
    return slug


def check_category(category: str) -> Category:
    for known in CATEGORIES:
        if category == known:
            return known
    raise InvalidInput("category", f"must be one of {', '.join(CATEGORIES)}")


def check_rarity(rarity: str) -> Rarity:
    for known in RARITIES:
        if rarity == known:
            return known
    raise InvalidInput("rarity", f"must be one of {', '.join(RARITIES)}")


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_price_gems(price: int) -> int:
    if not _whole(price, 1, MAX_GEMS_PER_ENTRY):
        raise InvalidInput("price_gems", f"must be a whole number from 1 to {MAX_GEMS_PER_ENTRY}")
    return price


def check_price_yen(price: int) -> int:
    if not _whole(price, 1, MAX_PRICE_YEN):
        raise InvalidInput("price_yen", f"must be a whole number from 1 to {MAX_PRICE_YEN}")
    return price


@dataclass(frozen=True)
class Effect:
    """What an item does (the seed's ItemEffect); duration None means permanent."""

    type: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    duration_ms: int | None = None

    @classmethod
    def parse(cls, state: Mapping[str, Any]) -> Effect:
        kind = state.get("type")
        if kind not in EFFECT_TYPES:
            raise InvalidInput("effects.type", f"must be one of {', '.join(EFFECT_TYPES)}")
        parameters = state.get("parameters", {})
        if not isinstance(parameters, Mapping):
            raise InvalidInput("effects.parameters", "must be an object")
        duration = state.get("duration_ms")
        if duration is not None and not _whole(duration, 1, MAX_EFFECT_DURATION_MS):
            raise InvalidInput("effects.duration_ms", "must be a positive number of milliseconds")
        return cls(type=str(kind), parameters=dict(parameters), duration_ms=duration)

    def to_state(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "parameters": dict(self.parameters),
            "duration_ms": self.duration_ms,
        }


def check_effects(effects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(effects, str | bytes) or len(effects) > MAX_EFFECTS:
        raise InvalidInput("effects", f"must be a list of at most {MAX_EFFECTS} effects")
    return [Effect.parse(effect).to_state() for effect in effects]


# -- the item aggregate ----------------------------------------------------------


@dataclass(frozen=True)
class PricePoint:
    """From `at` on, the item costs this (or is not for sale when `on_sale` is False)."""

    at: datetime
    price_gems: int
    price_yen: int
    on_sale: bool


class CatalogItem(Aggregate):
    """One item of the store."""

    class Listed(Aggregate.Created):
        slug: str
        name: str
        category: str
        rarity: str
        price_gems: int
        price_yen: int
        is_premium: bool
        effects: list[dict[str, Any]]
        min_level: int

    class Repriced(Aggregate.Event):
        price_gems: int
        price_yen: int

        def apply(self, aggregate: Any) -> None:
            aggregate.price_gems = self.price_gems
            aggregate.price_yen = self.price_yen
            aggregate.history.append(
                PricePoint(self.timestamp, self.price_gems, self.price_yen, aggregate.on_sale)
            )

    class Delisted(Aggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.on_sale = False
            aggregate.history.append(
                PricePoint(self.timestamp, aggregate.price_gems, aggregate.price_yen, False)
            )

    @staticmethod
    def create_id(slug: str, **_: Any) -> UUID:
        return catalog_item_id(slug)

    @classmethod
    def new(
        cls,
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
    ) -> CatalogItem:
        """A new item on sale; its yen price defaults to the gems at the exchange rate."""
        if not _whole(min_level, 1, 10):
            raise InvalidInput("min_level", "must be a relationship level from 1 to 10")
        gems = check_price_gems(price_gems)
        return cls(
            slug=check_slug(slug),
            name=validation.text("name", name, max_length=MAX_ITEM_NAME_CHARS),
            category=check_category(category),
            rarity=check_rarity(rarity),
            price_gems=gems,
            price_yen=check_price_yen(gems * YEN_PER_GEM if price_yen is None else price_yen),
            is_premium=bool(is_premium),
            effects=check_effects(effects),
            min_level=min_level,
        )

    @event(Listed)
    def __init__(
        self,
        slug: str,
        name: str,
        category: str,
        rarity: str,
        price_gems: int,
        price_yen: int,
        is_premium: bool,
        effects: list[dict[str, Any]],
        min_level: int,
    ) -> None:
        self.slug = slug
        self.name = name
        self.category = category
        self.rarity = rarity
        self.price_gems = price_gems
        self.price_yen = price_yen
        self.is_premium = is_premium
        self.effects = effects
        self.min_level = min_level
        self.on_sale = True
        self.history: list[PricePoint] = [PricePoint(self.created_on, price_gems, price_yen, True)]

    @property
    def slot(self) -> str:
        return self.category

    def reprice(self, *, price_gems: int | None = None, price_yen: int | None = None) -> None:
        """A new price from now on; a price left out keeps its value. Same price: no event."""
        gems = self.price_gems if price_gems is None else check_price_gems(price_gems)
        yen = self.price_yen if price_yen is None else check_price_yen(price_yen)
        if (gems, yen) != (self.price_gems, self.price_yen):
            self.trigger_event(self.Repriced, price_gems=gems, price_yen=yen)

    def delist(self) -> None:
        """No longer for sale; owners keep it. Delisting twice changes nothing."""
        if self.on_sale:
            self.trigger_event(self.Delisted)

    def price_at(self, when: datetime) -> PricePoint | None:
        """The price in effect at `when`, or None before the item was listed."""
        current: PricePoint | None = None
        for point in self.history:
            if point.at > when:
                break
            current = point
        return current

    def effect_list(self) -> list[Effect]:
        return [Effect.parse(effect) for effect in self.effects]


# -- the default catalogue -------------------------------------------------------


@dataclass(frozen=True)
class DefaultItem:
    slug: str
    name: str
    category: Category
    rarity: Rarity
    price_gems: int
    is_premium: bool = False
    effects: tuple[dict[str, Any], ...] = ()
    min_level: int = 1

    @property
    def item_id(self) -> UUID:
        return catalog_item_id(self.slug)

    def listing(self) -> CatalogItem:
        return CatalogItem.new(
            slug=self.slug,
            name=self.name,
            category=self.category,
            rarity=self.rarity,
            price_gems=self.price_gems,
            is_premium=self.is_premium,
            effects=self.effects,
            min_level=self.min_level,
        )


_HOUR_MS = 3600 * 1000
_DAY_MS = 24 * _HOUR_MS

DEFAULT_CATALOGUE: tuple[DefaultItem, ...] = (
    DefaultItem("short-bob", "Short bob", "hair", "common", 50),
    DefaultItem("long-waves", "Long waves", "hair", "rare", 150),
    DefaultItem(
        "starlight-braid",
        "Starlight braid",
        "hair",
        "epic",
        400,
        is_premium=True,
        effects=({"type": "new_animation", "parameters": {"animation": "hair_sparkle"}},),
    ),
    DefaultItem("casual-hoodie", "Casual hoodie", "outfit", "common", 80),
    DefaultItem(
        "summer-yukata",
        "Summer yukata",
        "outfit",
        "rare",
        250,
        effects=(
            {
                "type": "stat_boost",
                "parameters": {"stat": "affection", "amount": 5},
                "duration_ms": 7 * _DAY_MS,
            },
        ),
    ),
    DefaultItem(
        "evening-gown",
        "Evening gown",
        "outfit",
        "legendary",
        1200,
        is_premium=True,
        effects=(
            {"type": "new_animation", "parameters": {"animation": "twirl"}},
            {"type": "stat_boost", "parameters": {"stat": "affection", "amount": 10}},
        ),
        min_level=3,
    ),
    DefaultItem("round-glasses", "Round glasses", "accessories", "common", 40),
    DefaultItem(
        "heart-pendant",
        "Heart pendant",
        "accessories",
        "epic",
        500,
        effects=(
            {
                "type": "stat_boost",
                "parameters": {"stat": "affection", "amount": 3},
                "duration_ms": 24 * _HOUR_MS,
            },
        ),
    ),
    DefaultItem(
        "angel-halo",
        "Angel halo",
        "accessories",
        "legendary",
        1500,
        is_premium=True,
        effects=({"type": "voice_pack", "parameters": {"voice": "whisper"}},),
        min_level=5,
    ),
    DefaultItem(
        "shy-smiles",
        "Shy smiles",
        "expressions",
        "common",
        60,
        effects=({"type": "expression_set", "parameters": {"expressions": ["shy", "smile"]}},),
    ),
    DefaultItem(
        "playful-winks",
        "Playful winks",
        "expressions",
        "rare",
        200,
        effects=(
            {"type": "expression_set", "parameters": {"expressions": ["wink", "tease"]}},
            {"type": "new_animation", "parameters": {"animation": "wink"}},
        ),
    ),
    DefaultItem(
        "moonlit-serenade",
        "Moonlit serenade",
        "expressions",
        "legendary",
        2000,
        is_premium=True,
        effects=(
            {"type": "voice_pack", "parameters": {"voice": "serenade"}},
            {"type": "expression_set", "parameters": {"expressions": ["dreamy", "blush"]}},
        ),
    ),
)


def effect_expires_at(effect: Mapping[str, Any], purchased_at: datetime) -> datetime | None:
    """When an effect bought at `purchased_at` ends; None for a permanent one."""
    duration = effect.get("duration_ms")
    if duration is None:
        return None
    return purchased_at + timedelta(milliseconds=int(duration))


def active_effects(
    effects: Sequence[Mapping[str, Any]], purchased_at: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The effects still in force at `now`, each with when it ends (None: never)."""
    active = []
    for effect in effects:
        expires = effect_expires_at(effect, purchased_at)
        if expires is None or now < expires:
            active.append({**Effect.parse(effect).to_state(), "expires_at": expires})
    return active
