"""The store's routes: the catalogue, purchases in gems, inventories, the ledger, gem
packs and equipment, and every bad input they refuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from companion.app.bootstrap import Companion, bootstrap
from companion.domain.catalogue import DEFAULT_CATALOGUE, GEM_PACKS
from companion.domain.users import User
from tests.support.api import api_settings, new_character, sign_up

COMMON = next(item for item in DEFAULT_CATALOGUE if not item.is_premium and item.min_level == 1)
OTHER_COMMON = next(
    item
    for item in DEFAULT_CATALOGUE
    if not item.is_premium and item.min_level == 1 and item.category != COMMON.category
)
PREMIUM = next(item for item in DEFAULT_CATALOGUE if item.is_premium and item.min_level == 1)


@pytest.fixture
def companion(tmp_path: Path) -> Iterator[Companion]:
    """An API whose store got the default catalogue at its first start."""
    companion = bootstrap(api_settings(tmp_path, catalogue_defaults=True))
    yield companion
    companion.close()


def user_id(client: TestClient[Any], headers: dict[str, str]) -> UUID:
    return UUID(client.get("/api/v1/me", headers=headers).json()["user_id"])


def grant(
    client: TestClient[Any], companion: Companion, headers: dict[str, str], gems: int
) -> UUID:
    uid = user_id(client, headers)
    position = companion.commerce.credit_gems(uid, gems, kind="grant", reference=str(uuid4()))
    assert companion.runner.wait_for(position, ["inventories"], 10)
    return uid


def set_tier(companion: Companion, uid: UUID, tier: str) -> None:
    user = companion.uow.load(User, uid)
    user.change_tier(tier)
    position = companion.uow.save(user)
    assert companion.runner.wait_for(position, ["users"], 10)


def buy(
    client: TestClient[Any],
    headers: dict[str, str],
    character: str,
    item: UUID,
    key: str | None = None,
) -> Any:
    return client.post(
        "/api/v1/store/purchases",
        headers=headers,
        json={
            "item_id": str(item),
            "character_id": character,
            "idempotency_key": key or uuid4().hex,
        },
    )


def test_the_default_catalogue_is_listed_with_prices_in_gems_and_yen(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    answer = client.get("/api/v1/store/items", headers=user)
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert {item["item_id"] for item in items} == {str(d.item_id) for d in DEFAULT_CATALOGUE}
    assert {item["category"] for item in items} == {"hair", "outfit", "accessories", "expressions"}
    assert {item["rarity"] for item in items} == {"common", "rare", "epic", "legendary"}
    first = next(item for item in items if item["item_id"] == str(COMMON.item_id))
    assert first["price_gems"] == COMMON.price_gems
    assert first["price_yen"] > 0
    assert first["is_premium"] is False


def test_a_purchase_spends_gems_at_the_catalogue_price_and_shows_everywhere(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, 1000)
    bought = buy(client, user, character, COMMON.item_id)
    assert bought.status_code == 201, bought.text
    assert bought.json()["gems"] == 1000 - COMMON.price_gems

    inventory = client.get("/api/v1/inventory", headers=user).json()
    assert inventory["gems"] == 1000 - COMMON.price_gems
    assert [(i["item_id"], i["character_id"]) for i in inventory["items"]] == [
        (str(COMMON.item_id), character)
    ]
    ledger = client.get("/api/v1/wallet/ledger", headers=user).json()["entries"]
    assert [(e["kind"], e["gems"], e["balance"]) for e in ledger] == [
        ("grant", 1000, 1000),
        ("purchase", -COMMON.price_gems, 1000 - COMMON.price_gems),
    ]
    assert client.get("/api/v1/me", headers=user).json()["gems"] == 1000 - COMMON.price_gems


def test_a_replayed_key_answers_the_first_purchase_and_another_item_with_it_is_409(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, 1000)
    first = buy(client, user, character, COMMON.item_id, key="k-1")
    again = buy(client, user, character, COMMON.item_id, key="k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    other = buy(client, user, character, OTHER_COMMON.item_id, key="k-1")
    assert other.status_code == 409
    assert other.json()["extra"]["code"] == "idempotency_conflict"
    assert client.get("/api/v1/inventory", headers=user).json()["gems"] == first.json()["gems"]


def test_an_item_is_owned_once_per_character(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, 1000)
    assert buy(client, user, character, COMMON.item_id).status_code == 201
    twice = buy(client, user, character, COMMON.item_id)
    assert twice.status_code == 409
    assert twice.json()["extra"]["code"] == "already_owned"
    another = new_character(client, user)
    assert buy(client, user, another, COMMON.item_id).status_code == 201


def test_not_enough_gems_is_402_and_spends_nothing(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, COMMON.price_gems - 1)
    answer = buy(client, user, character, COMMON.item_id)
    assert answer.status_code == 402
    assert answer.json()["extra"]["code"] == "insufficient_gems"
    assert client.get("/api/v1/inventory", headers=user).json()["gems"] == COMMON.price_gems - 1


def test_a_price_from_the_client_is_refused(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, 1000)
    answer = client.post(
        "/api/v1/store/purchases",
        headers=user,
        json={
            "item_id": str(COMMON.item_id),
            "character_id": character,
            "idempotency_key": "tampered",
            "price_gems": 1,
        },
    )
    assert answer.status_code == 422
    assert client.get("/api/v1/inventory", headers=user).json()["gems"] == 1000


def test_unknown_items_other_users_characters_and_blank_keys_are_refused(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, 1000)
    unknown = buy(client, user, character, uuid4())
    assert (unknown.status_code, unknown.json()["extra"]["code"]) == (404, "item_not_found")
    stranger = sign_up(client)
    theirs = new_character(client, stranger)
    foreign = buy(client, user, theirs, COMMON.item_id)
    assert (foreign.status_code, foreign.json()["extra"]["code"]) == (404, "character_not_found")
    blank = buy(client, user, character, COMMON.item_id, key=" ")
    assert blank.status_code == 422
    assert client.get("/api/v1/inventory", headers=user).json() == {
        "gems": 1000,
        "owed": 0,
        "items": [],
        "equipped": {},
    }


def test_a_premium_item_needs_a_paying_tier(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    uid = grant(client, companion, user, 5000)
    refused = buy(client, user, character, PREMIUM.item_id)
    assert (refused.status_code, refused.json()["extra"]["code"]) == (403, "tier_required")
    set_tier(companion, uid, "premium")
    assert buy(client, user, character, PREMIUM.item_id).status_code == 201


def test_equipping_an_owned_item_answers_the_avatar(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, 1000)
    path = f"/api/v1/characters/{character}/avatar/equipment"
    body = {"slot": COMMON.category, "item_id": str(COMMON.item_id)}
    not_owned = client.put(path, headers=user, json=body)
    assert (not_owned.status_code, not_owned.json()["extra"]["code"]) == (409, "item_not_owned")
    assert buy(client, user, character, COMMON.item_id).status_code == 201
    answer = client.put(path, headers=user, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["equipped"] == {COMMON.category: str(COMMON.item_id)}
    inventory = client.get("/api/v1/inventory", headers=user).json()
    assert inventory["equipped"] == {character: {COMMON.category: str(COMMON.item_id)}}
    wrong_slot = client.put(
        path, headers=user, json={"slot": OTHER_COMMON.category, "item_id": str(COMMON.item_id)}
    )
    assert wrong_slot.status_code == 422


def test_someone_elses_character_cannot_be_dressed(
    client: TestClient[Any], companion: Companion, user: dict[str, str]
) -> None:
    theirs = new_character(client, sign_up(client))
    answer = client.put(
        f"/api/v1/characters/{theirs}/avatar/equipment",
        headers=user,
        json={"slot": COMMON.category, "item_id": str(COMMON.item_id)},
    )
    assert (answer.status_code, answer.json()["extra"]["code"]) == (404, "character_not_found")


def test_gem_packs_are_listed(client: TestClient[Any], user: dict[str, str]) -> None:
    answer = client.get("/api/v1/gems/packs", headers=user).json()
    assert [pack["pack_id"] for pack in answer["packs"]] == [p.pack_id for p in GEM_PACKS]
    assert all(pack["price_yen"] > 0 and pack["gems"] > 0 for pack in answer["packs"])


def test_the_ledger_takes_a_limit_and_no_other_parameter(
    client: TestClient[Any], companion: Companion, user: dict[str, str]
) -> None:
    for _ in range(3):
        grant(client, companion, user, 10)
    last_two = client.get("/api/v1/wallet/ledger?limit=2", headers=user).json()["entries"]
    assert [entry["balance"] for entry in last_two] == [20, 30]
    assert client.get("/api/v1/wallet/ledger?limit=0", headers=user).status_code in (400, 422)
    unknown = client.get("/api/v1/wallet/ledger?since=yesterday", headers=user)
    assert unknown.status_code == 422


def test_a_delisted_item_is_no_longer_listed_nor_sold(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    grant(client, companion, user, 1000)
    position = companion.commerce.delist(COMMON.item_id)
    assert companion.runner.wait_for(position, ["catalogue"], 10)
    items = client.get("/api/v1/store/items", headers=user).json()["items"]
    assert str(COMMON.item_id) not in {item["item_id"] for item in items}
    refused = buy(client, user, character, COMMON.item_id)
    assert (refused.status_code, refused.json()["extra"]["code"]) == (404, "item_not_found")


def test_an_item_can_need_a_closer_relationship(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    uid = grant(client, companion, user, 5000)
    set_tier(companion, uid, "ultimate")
    demanding = next(item for item in DEFAULT_CATALOGUE if item.min_level > 1)
    refused = buy(client, user, character, demanding.item_id)
    assert (refused.status_code, refused.json()["extra"]["code"]) == (403, "level_required")


def test_a_premium_item_is_worn_only_while_the_tier_pays(
    client: TestClient[Any], companion: Companion, user: dict[str, str], character: str
) -> None:
    uid = grant(client, companion, user, 5000)
    set_tier(companion, uid, "premium")
    assert buy(client, user, character, PREMIUM.item_id).status_code == 201
    set_tier(companion, uid, "free")
    path = f"/api/v1/characters/{character}/avatar/equipment"
    body = {"slot": PREMIUM.category, "item_id": str(PREMIUM.item_id)}
    refused = client.put(path, headers=user, json=body)
    assert (refused.status_code, refused.json()["extra"]["code"]) == (403, "tier_required")
    set_tier(companion, uid, "ultimate")
    assert client.put(path, headers=user, json=body).status_code == 200
