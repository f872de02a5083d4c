"""The store on real stores: inventories and the catalogue as read models on SQLite and
PostgreSQL, rebuilt equal to the live ones, and concurrent purchases that never
double-spend."""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.app.bootstrap import Companion, bootstrap
from companion.domain.catalogue import DEFAULT_CATALOGUE, CatalogItem
from companion.domain.errors import DomainError, InsufficientGems
from companion.domain.identity import wallet_id
from companion.domain.wallet import Wallet
from tests.support.companions import Companions
from tests.support.concurrency import run_together
from tests.support.users import persona

CHEAP = [item for item in DEFAULT_CATALOGUE if not item.is_premium and item.min_level == 1]


def user_with_characters(
    companion: Companion, email: str, characters: int = 2
) -> tuple[UUID, list[UUID]]:
    user_id = companion.accounts.register(
        email=email, password="correct horse battery", name="Aoi", nickname="Aoi"
    )
    ids = [
        companion.characters.create_character(user_id=user_id, persona=persona())[0]
        for _ in range(characters)
    ]
    return user_id, ids


def rebuilt_equals_live(companion: Companion) -> None:
    companion.runner.run_once()
    models = [companion.read_models.inventories, companion.read_models.catalogue]
    live = {m.name: m.dump(companion.views) for m in models}
    for model in models:
        companion.runner.rebuild(model)
    assert {m.name: m.dump(companion.views) for m in models} == live


def scenario(companion: Companion) -> tuple[UUID, UUID]:
    """Two users: credits, purchases, a refund of spent gems, a settled debt, equipment,
    a repriced and a delisted item."""
    commerce = companion.commerce
    aoi, (first, second) = user_with_characters(companion, "aoi@example.org")
    ren, (third,) = user_with_characters(companion, "ren@example.org", 1)
    commerce.credit_gems(aoi, 1000, kind="gem_pack", reference="pay-1")
    commerce.credit_gems(ren, 300, kind="grant", reference="welcome")
    hair = CHEAP[0]
    commerce.reprice(hair.item_id, price_gems=hair.price_gems + 25)
    commerce.purchase(user_id=aoi, item_id=hair.item_id, character_id=first, idempotency_key="a")
    commerce.purchase(user_id=aoi, item_id=hair.item_id, character_id=second, idempotency_key="b")
    commerce.purchase(user_id=ren, item_id=hair.item_id, character_id=third, idempotency_key="a")
    commerce.equip(user_id=aoi, character_id=first, slot=hair.category, item_id=hair.item_id)
    commerce.take_back_gems(aoi, 1000, reference="pay-1")
    commerce.credit_gems(aoi, 5000, kind="gem_pack", reference="pay-2")
    commerce.delist(CHEAP[1].item_id)
    return aoi, ren


class StoreOnABackend:
    @pytest.fixture
    def companions(self) -> Companions:
        raise NotImplementedError

    @pytest.fixture
    def companion(self, companions: Companions) -> Companion:
        return companions(catalogue_defaults=True)

    def test_the_inventory_follows_the_wallet(self, companion: Companion) -> None:
        aoi, ren = scenario(companion)
        companion.runner.run_once()
        inventories = companion.read_models.inventories
        hair = CHEAP[0]
        paid = hair.price_gems + 25
        wallet = companion.uow.load(Wallet, wallet_id(aoi), to_change=False)
        mine = inventories.inventory(companion.views, aoi)
        assert mine.gems == wallet.balance == 5000 - (2 * paid)
        assert mine.owed == wallet.debt == 0
        assert [(i.item_id, i.price_gems) for i in mine.items] == [(hair.item_id, paid)] * 2
        assert list(mine.equipped.values()) == [{hair.category: hair.item_id}]
        ledger = inventories.ledger_of(companion.views, aoi)
        assert [e.kind for e in ledger] == [
            "gem_pack",
            "purchase",
            "purchase",
            "refund",
            "gem_pack",
            "debt_settled",
        ]
        assert [e.balance for e in ledger] == [
            sum(x.gems for x in ledger[: i + 1]) for i in range(len(ledger))
        ]
        assert all(e.balance >= 0 for e in ledger)
        assert inventories.inventory(companion.views, ren).gems == 300 - paid

    def test_the_catalogue_knows_every_past_price(self, companion: Companion) -> None:
        scenario(companion)
        companion.runner.run_once()
        catalogue = companion.read_models.catalogue
        on_sale = {item.item_id for item in catalogue.items(companion.views)}
        assert on_sale == {d.item_id for d in DEFAULT_CATALOGUE} - {CHEAP[1].item_id}
        hair = CHEAP[0]
        prices = catalogue.prices(companion.views, hair.item_id)
        assert [p.price_gems for p in prices] == [hair.price_gems, hair.price_gems + 25]
        item = companion.uow.load(CatalogItem, hair.item_id, to_change=False)
        for price in prices:
            assert catalogue.price_at(companion.views, hair.item_id, price.at) == price
            stored = item.price_at(price.at)
            assert stored is not None
            assert stored.price_gems == price.price_gems

    def test_a_rebuilt_inventory_equals_the_live_one(self, companion: Companion) -> None:
        scenario(companion)
        rebuilt_equals_live(companion)

    def test_the_default_catalogue_is_listed_once_by_every_start(
        self, companions: Companions
    ) -> None:
        settings = companions.settings(catalogue_defaults=True)
        first = bootstrap(settings)
        try:
            second = bootstrap(settings)
            try:
                assert second.commerce.load_default_catalogue() == 0
                listed = [
                    n
                    for n in first.application.recorder.select_notifications(start=1, limit=1000)
                    if n.topic.endswith("CatalogItem.Listed")
                ]
                assert len(listed) == len(DEFAULT_CATALOGUE)
            finally:
                second.close()
        finally:
            first.close()


class TestStoreOnSQLite(StoreOnABackend):
    @pytest.fixture
    def companions(self, sqlite_companions: Companions) -> Companions:
        return sqlite_companions


@pytest.mark.postgres
class TestStoreOnPostgres(StoreOnABackend):
    @pytest.fixture
    def companions(self, postgres_companions: Companions) -> Companions:
        return postgres_companions

    def test_concurrent_purchases_against_one_balance_never_double_spend(
        self, companion: Companion
    ) -> None:
        user_id, characters = user_with_characters(companion, "aoi@example.org", 3)
        price = CHEAP[0].price_gems
        affordable = 4
        companion.commerce.credit_gems(user_id, price * affordable, kind="grant", reference="start")
        buyers = 8
        # Eight purchases of two different items for three characters, all at once.
        wanted = [(CHEAP[i % 2].item_id, characters[i % 3], f"key-{i}") for i in range(buyers)]
        prices = {CHEAP[0].item_id: CHEAP[0].price_gems, CHEAP[1].item_id: CHEAP[1].price_gems}

        def buy(i: int) -> Any:
            item, character, key = wanted[i]
            return companion.commerce.purchase(
                user_id=user_id, item_id=item, character_id=character, idempotency_key=key
            )

        results = run_together(buyers, buy)
        done = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(r, DomainError) for r in refused), refused
        wallet = companion.uow.load(Wallet, wallet_id(user_id), to_change=False)
        spent = sum(prices[outcome.purchase.item_id] for outcome in done)
        assert wallet.balance == price * affordable - spent >= 0
        assert len(wallet.purchases) == len(done)
        assert len({(o.purchase.character_id, o.purchase.item_id) for o in done}) == len(done)
        assert any(isinstance(r, InsufficientGems) for r in refused)
        companion.runner.run_once()
        inventory = companion.read_models.inventories.inventory(companion.views, user_id)
        assert inventory.gems == wallet.balance
        assert len(inventory.items) == len(done)
        rebuilt_equals_live(companion)

    def test_two_processes_starting_together_list_the_default_catalogue_once(
        self, companions: Companions
    ) -> None:
        settings = companions.settings(catalogue_defaults=False)
        processes = [bootstrap(settings), bootstrap(settings)]
        try:
            listed_by = run_together(2, lambda i: processes[i].commerce.load_default_catalogue())
            assert sum(listed_by) == len(DEFAULT_CATALOGUE)
            listings = [
                n
                for n in processes[0].application.recorder.select_notifications(start=1, limit=1000)
                if n.topic.endswith("CatalogItem.Listed")
            ]
            assert len(listings) == len(DEFAULT_CATALOGUE)
        finally:
            for process in processes:
                process.close()

    def test_the_same_key_sent_together_buys_once(self, companion: Companion) -> None:
        user_id, (character,) = user_with_characters(companion, "aoi@example.org", 1)
        companion.commerce.credit_gems(user_id, 10_000, kind="grant", reference="start")
        item = CHEAP[0].item_id

        def buy(_: int) -> Any:
            return companion.commerce.purchase(
                user_id=user_id, item_id=item, character_id=character, idempotency_key="same"
            )

        results = run_together(6, buy)
        assert not [r for r in results if isinstance(r, Exception)]
        assert len({r.purchase for r in results}) == 1
        wallet = companion.uow.load(Wallet, wallet_id(user_id), to_change=False)
        assert wallet.balance == 10_000 - CHEAP[0].price_gems


# -- property: any sequence, then a rebuild --------------------------------------------

steps = st.lists(
    st.one_of(
        st.tuples(st.just("credit"), st.integers(1, 800), st.sampled_from(["p1", "p2", "p3"])),
        st.tuples(st.just("take_back"), st.integers(1, 800), st.sampled_from(["p1", "p2"])),
        st.tuples(
            st.just("purchase"),
            st.integers(0, len(CHEAP) - 1),
            st.integers(0, 1),
            st.sampled_from(["k1", "k2", "k3", "k4"]),
        ),
    ),
    max_size=15,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
def test_any_sequence_leaves_an_inventory_equal_to_the_wallet_and_to_its_rebuild(
    memory_companions: Companions, sequence: list[tuple[Any, ...]]
) -> None:
    companion = memory_companions(catalogue_defaults=True)
    user_id, characters = user_with_characters(companion, "aoi@example.org")
    commerce = companion.commerce
    for step in sequence:
        with contextlib.suppress(DomainError):
            match step:
                case ("credit", gems, reference):
                    commerce.credit_gems(user_id, gems, kind="gem_pack", reference=reference)
                case ("take_back", gems, reference):
                    commerce.take_back_gems(user_id, gems, reference=reference)
                case ("purchase", item, character, key):
                    commerce.purchase(
                        user_id=user_id,
                        item_id=CHEAP[item].item_id,
                        character_id=characters[character],
                        idempotency_key=key,
                    )
    companion.runner.run_once()
    inventory = companion.read_models.inventories.inventory(companion.views, user_id)
    ledger = companion.read_models.inventories.ledger_of(companion.views, user_id)
    wallet = commerce.wallet(user_id)
    assert inventory.gems == (wallet.balance if wallet else 0) == sum(e.gems for e in ledger)
    assert inventory.owed == (wallet.debt if wallet else 0)
    assert all(entry.balance >= 0 for entry in ledger)
    rebuilt_equals_live(companion)
