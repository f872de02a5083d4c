"""The catalogue: items, their prices over time, the default catalogue and gem packs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.domain.catalogue import (
    CATEGORIES,
    DEFAULT_CATALOGUE,
    EFFECT_TYPES,
    GEM_PACKS,
    RARITIES,
    YEN_PER_GEM,
    CatalogItem,
    active_effects,
    gem_pack,
)
from companion.domain.errors import InvalidInput, ItemNotFound
from companion.domain.identity import catalog_item_id


def item(**changes: Any) -> CatalogItem:
    values: dict[str, Any] = {
        "slug": "test-hat",
        "name": "Test hat",
        "category": "accessories",
        "rarity": "rare",
        "price_gems": 100,
    }
    return CatalogItem.new(**{**values, **changes})


def test_the_default_catalogue_covers_every_category_rarity_and_effect() -> None:
    assert {d.category for d in DEFAULT_CATALOGUE} == set(CATEGORIES)
    assert {d.rarity for d in DEFAULT_CATALOGUE} == set(RARITIES)
    effects = {e["type"] for d in DEFAULT_CATALOGUE for e in d.effects}
    assert effects == set(EFFECT_TYPES)
    assert any(e.get("duration_ms") for d in DEFAULT_CATALOGUE for e in d.effects)
    assert any(d.is_premium for d in DEFAULT_CATALOGUE)
    assert len({d.slug for d in DEFAULT_CATALOGUE}) == len(DEFAULT_CATALOGUE)
    for default in DEFAULT_CATALOGUE:
        listed = default.listing()
        assert listed.id == default.item_id == catalog_item_id(default.slug)
        assert listed.price_yen == default.price_gems * YEN_PER_GEM


def test_gem_packs_follow_the_exchange_rate_with_a_bonus_for_larger_packs() -> None:
    for pack in GEM_PACKS:
        assert gem_pack(pack.pack_id) == pack
        assert pack.gems >= pack.price_yen // YEN_PER_GEM
    per_yen = [pack.gems / pack.price_yen for pack in GEM_PACKS]
    assert per_yen == sorted(per_yen)
    with pytest.raises(ItemNotFound):
        gem_pack("gems-free")


@pytest.mark.parametrize(
    "changes",
    [
        {"slug": "Not A Slug"},
        {"name": " "},
        {"category": "shoes"},
        {"rarity": "mythic"},
        {"price_gems": 0},
        {"price_gems": -5},
        {"price_gems": True},
        {"price_yen": 0},
        {"min_level": 0},
        {"min_level": 11},
        {"effects": [{"type": "teleport"}]},
        {"effects": [{"type": "stat_boost", "duration_ms": -1}]},
        {"effects": [{"type": "stat_boost", "parameters": []}]},
    ],
)
def test_an_item_with_a_wrong_field_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        item(**changes)


@pytest.mark.parametrize("price", [0, -1, 10**9, 2.5])
def test_repricing_checks_the_price(price: Any) -> None:
    listed = item()
    with pytest.raises(InvalidInput):
        listed.reprice(price_gems=price)
    assert listed.price_gems == 100


def test_the_price_at_any_past_moment_is_known(replay: Callable[[Iterable[Any]], Any]) -> None:
    listed = item()
    listed.reprice(price_gems=150)
    listed.reprice(price_yen=999)
    listed.reprice(price_gems=150)  # no change: no event
    listed.delist()
    listed.delist()
    events = listed.collect_events()
    assert [type(e).__name__ for e in events] == ["Listed", "Repriced", "Repriced", "Delisted"]
    rebuilt: CatalogItem = replay(events)
    before = events[0].timestamp - timedelta(microseconds=1)
    assert rebuilt.price_at(before) is None
    at = [rebuilt.price_at(e.timestamp) for e in events]
    assert [(p.price_gems, p.price_yen, p.on_sale) for p in at if p] == [
        (100, 200, True),
        (150, 200, True),
        (150, 999, True),
        (150, 999, False),
    ]
    assert rebuilt.price_at(datetime.now(UTC) + timedelta(days=1)) == at[-1]
    assert not rebuilt.on_sale


@settings(max_examples=100)
@given(prices=st.lists(st.integers(1, 5000), min_size=1, max_size=10))
def test_replay_gives_the_same_price_history(
    prices: list[int], replay: Callable[[Iterable[Any]], Any]
) -> None:
    listed = item()
    for price in prices:
        listed.reprice(price_gems=price)
    rebuilt: CatalogItem = replay(listed.collect_events())
    assert rebuilt.history == listed.history
    assert rebuilt.price_gems == prices[-1]


def test_effects_with_a_duration_expire_and_permanent_ones_stay() -> None:
    bought = datetime(2026, 1, 1, tzinfo=UTC)
    effects = [
        {"type": "stat_boost", "parameters": {"amount": 5}, "duration_ms": 3_600_000},
        {"type": "voice_pack", "parameters": {"voice": "whisper"}},
    ]
    during = active_effects(effects, bought, bought + timedelta(minutes=59))
    assert [(e["type"], e["expires_at"]) for e in during] == [
        ("stat_boost", bought + timedelta(hours=1)),
        ("voice_pack", None),
    ]
    after = active_effects(effects, bought, bought + timedelta(hours=1))
    assert [e["type"] for e in after] == ["voice_pack"]
