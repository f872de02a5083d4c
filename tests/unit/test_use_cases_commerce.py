"""The store's use cases on the in-memory unit of work: gems, purchases, idempotency keys."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.app.fake_unit_of_work import FakeUnitOfWork
from companion.domain.errors import IdempotencyConflict, InsufficientGems
from companion.domain.wallet import Wallet
from tests.support.fake_uow import FakeCompanion, fake_companion, user_with_character

A = TypeVar("A")


def listed(companion: FakeCompanion, slug: str, price_gems: int) -> UUID:
    item_id, _ = companion.commerce.list_item(
        slug=slug, name=slug.title(), category="hair", rarity="common", price_gems=price_gems
    )
    return item_id


def balance(companion: FakeCompanion, user_id: UUID) -> int:
    wallet = companion.commerce.wallet(user_id)
    assert wallet is not None
    return wallet.balance


def test_a_purchase_takes_the_catalogues_price_from_the_wallet() -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)
    item_id = listed(companion, "twin-tails", 120)
    companion.commerce.credit_gems(user_id, 500, kind="grant", reference="welcome")

    outcome = companion.commerce.purchase(
        user_id=user_id, item_id=item_id, character_id=character_id, idempotency_key="k1"
    )

    assert outcome.position is not None
    assert (outcome.purchase.price_gems, outcome.purchase.balance) == (120, 380)
    assert balance(companion, user_id) == 380
    wallet = companion.commerce.wallet(user_id)
    assert wallet is not None
    assert wallet.owns(character_id, item_id)


def test_the_same_idempotency_key_answers_the_first_purchase_and_writes_nothing() -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)
    item_id = listed(companion, "twin-tails", 120)
    other_id = listed(companion, "bob-cut", 80)
    companion.commerce.credit_gems(user_id, 500, kind="grant", reference="welcome")
    first = companion.commerce.purchase(
        user_id=user_id, item_id=item_id, character_id=character_id, idempotency_key="k1"
    )
    stored = len(companion.uow.saved)

    again = companion.commerce.purchase(
        user_id=user_id, item_id=item_id, character_id=character_id, idempotency_key="k1"
    )

    assert (again.purchase, again.position) == (first.purchase, None)
    assert len(companion.uow.saved) == stored
    assert balance(companion, user_id) == 380
    with pytest.raises(IdempotencyConflict):
        companion.commerce.purchase(
            user_id=user_id, item_id=other_id, character_id=character_id, idempotency_key="k1"
        )
    assert len(companion.uow.saved) == stored


@settings(max_examples=25, deadline=None)
@given(
    credit=st.integers(min_value=1, max_value=400),
    prices=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=6),
)
def test_the_balance_never_goes_below_zero(credit: int, prices: list[int]) -> None:
    companion = fake_companion()
    user_id, character_id = user_with_character(companion)
    companion.commerce.credit_gems(user_id, credit, kind="grant", reference="welcome")
    spent = 0
    for number, price in enumerate(prices):
        item_id = listed(companion, f"item-{number}", price)
        try:
            companion.commerce.purchase(
                user_id=user_id,
                item_id=item_id,
                character_id=character_id,
                idempotency_key=f"k{number}",
            )
        except InsufficientGems:
            assert price > credit - spent
        else:
            spent += price
        assert balance(companion, user_id) == credit - spent >= 0
    debited = [e for e in companion.uow.saved if isinstance(e, Wallet.ItemPurchased)]
    assert sum(e.gems for e in debited) == spent


class TogetherAtFirst(FakeUnitOfWork):
    """Holds each thread's first load of a wallet until every buyer has loaded it: all
    of them decide on the same balance, and the store's version check decides between them.
    """

    def __init__(self, buyers: int) -> None:
        super().__init__()
        self.together = threading.Barrier(buyers)
        self.waited = threading.local()

    def load(self, cls: type[A], aggregate_id: UUID, **options: Any) -> A:
        loaded = super().load(cls, aggregate_id, **options)
        if cls is Wallet and not getattr(self.waited, "done", False):
            self.waited.done = True
            self.together.wait(timeout=10)
        return loaded


def test_purchases_racing_for_one_wallet_never_spend_more_than_it_holds() -> None:
    buyers = 10
    companion = fake_companion(uow=TogetherAtFirst(buyers))
    user_id, character_id = user_with_character(companion)
    items = [listed(companion, f"item-{n}", 100) for n in range(buyers)]
    companion.commerce.credit_gems(user_id, 500, kind="grant", reference="welcome")
    companion.uow.waited.done = True  # the test's own thread is not a buyer

    def buy(n: int) -> bool:
        try:
            companion.commerce.purchase(
                user_id=user_id,
                item_id=items[n],
                character_id=character_id,
                idempotency_key=f"k{n}",
            )
        except InsufficientGems:
            return False
        return True

    with ThreadPoolExecutor(buyers) as pool:
        bought = list(pool.map(buy, range(buyers)))

    assert bought.count(True) == 5
    assert balance(companion, user_id) == 0
    assert companion.uow.conflicts >= buyers - 1
