"""The wallet: its balance is the sum of its ledger and never negative, whatever happens."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.domain.errors import (
    AlreadyOwned,
    DomainError,
    IdempotencyConflict,
    InsufficientGems,
    InvalidInput,
    WalletInDebt,
)
from companion.domain.identity import wallet_id
from companion.domain.limits import MAX_GEMS_PER_ENTRY
from companion.domain.wallet import DEBT_SETTLED, REFUND, Wallet

NAMESPACE = UUID("0b1c2d3e-0000-4000-8000-000000000000")
ITEMS = [uuid5(NAMESPACE, f"item-{i}") for i in range(4)]
CHARACTERS = [uuid5(NAMESPACE, f"character-{i}") for i in range(2)]


def signed(event: Any) -> int:
    """What one event adds to the balance (0 for events that move no gems)."""
    if isinstance(event, Wallet.GemsCredited):
        return int(event.gems)
    if isinstance(event, Wallet.GemsDebited | Wallet.ItemPurchased):
        return -int(event.gems)
    return 0


def funded(gems: int = 1000) -> Wallet:
    wallet = Wallet.open(uuid4())
    wallet.credit(gems, kind="grant", reference="start")
    return wallet


def test_a_wallets_id_follows_from_its_user() -> None:
    user = uuid4()
    assert Wallet.open(user).id == wallet_id(user)


@pytest.mark.parametrize("gems", [0, -1, -500, MAX_GEMS_PER_ENTRY + 1, True, 1.5, "10"])
def test_zero_negative_huge_or_non_whole_amounts_are_refused(gems: Any) -> None:
    wallet = funded()
    with pytest.raises(InvalidInput):
        wallet.credit(gems, kind="grant", reference="r")
    with pytest.raises(InvalidInput):
        wallet.take_back(gems, reference="start")
    with pytest.raises(InvalidInput):
        wallet.purchase(
            item_id=ITEMS[0], price_gems=gems, character_id=CHARACTERS[0], idempotency_key="k"
        )
    assert wallet.balance == 1000


@pytest.mark.parametrize("kind", ["", "Gem Pack", "x" * 40, "1abc"])
def test_a_credit_kind_is_a_short_snake_case_word(kind: str) -> None:
    with pytest.raises(InvalidInput):
        Wallet.open(uuid4()).credit(10, kind=kind, reference="r")


def test_a_credit_is_applied_once_per_reference() -> None:
    wallet = funded(100)
    assert wallet.credit(50, kind="gem_pack", reference="pay-1") is True
    assert wallet.credit(50, kind="gem_pack", reference="pay-1") is False
    assert wallet.balance == 150
    with pytest.raises(IdempotencyConflict):
        wallet.credit(60, kind="gem_pack", reference="pay-1")


def test_a_purchase_costs_its_price_and_is_idempotent_on_its_key() -> None:
    wallet = funded(1000)
    first = wallet.purchase(
        item_id=ITEMS[0], price_gems=300, character_id=CHARACTERS[0], idempotency_key="k"
    )
    assert (first.balance, wallet.balance) == (700, 700)
    again = wallet.purchase(
        item_id=ITEMS[0], price_gems=300, character_id=CHARACTERS[0], idempotency_key="k"
    )
    assert again == first
    assert wallet.balance == 700
    assert len([e for e in wallet.collect_events() if isinstance(e, Wallet.ItemPurchased)]) == 1


def test_a_key_reused_for_another_item_or_character_is_a_conflict() -> None:
    wallet = funded(1000)
    wallet.purchase(
        item_id=ITEMS[0], price_gems=10, character_id=CHARACTERS[0], idempotency_key="k"
    )
    with pytest.raises(IdempotencyConflict):
        wallet.purchase(
            item_id=ITEMS[1], price_gems=10, character_id=CHARACTERS[0], idempotency_key="k"
        )
    with pytest.raises(IdempotencyConflict):
        wallet.purchase(
            item_id=ITEMS[0], price_gems=10, character_id=CHARACTERS[1], idempotency_key="k"
        )
    assert wallet.balance == 990


def test_an_item_is_owned_once_per_character() -> None:
    wallet = funded(1000)
    wallet.purchase(
        item_id=ITEMS[0], price_gems=10, character_id=CHARACTERS[0], idempotency_key="a"
    )
    with pytest.raises(AlreadyOwned):
        wallet.purchase(
            item_id=ITEMS[0], price_gems=10, character_id=CHARACTERS[0], idempotency_key="b"
        )
    wallet.purchase(
        item_id=ITEMS[0], price_gems=10, character_id=CHARACTERS[1], idempotency_key="c"
    )
    assert wallet.owns(CHARACTERS[1], ITEMS[0])
    assert wallet.balance == 980


def test_a_purchase_dearer_than_the_balance_is_refused() -> None:
    wallet = funded(99)
    with pytest.raises(InsufficientGems):
        wallet.purchase(
            item_id=ITEMS[0], price_gems=100, character_id=CHARACTERS[0], idempotency_key="k"
        )
    assert wallet.balance == 99
    assert not wallet.owns(CHARACTERS[0], ITEMS[0])


def test_spent_gems_taken_back_become_a_debt_that_stops_purchases_until_settled() -> None:
    wallet = Wallet.open(uuid4())
    wallet.credit(500, kind="gem_pack", reference="pay-1")
    wallet.purchase(
        item_id=ITEMS[0], price_gems=400, character_id=CHARACTERS[0], idempotency_key="a"
    )
    assert wallet.take_back(500, reference="pay-1") is True
    assert (wallet.balance, wallet.debt) == (0, 400)
    assert wallet.take_back(500, reference="pay-1") is False
    wallet.credit(100, kind="grant", reference="gift")
    assert (wallet.balance, wallet.debt) == (0, 300)
    with pytest.raises(WalletInDebt):
        wallet.purchase(
            item_id=ITEMS[1], price_gems=1, character_id=CHARACTERS[0], idempotency_key="b"
        )
    wallet.credit(1000, kind="gem_pack", reference="pay-2")
    assert (wallet.balance, wallet.debt) == (700, 0)
    kinds = [e.kind for e in wallet.collect_events() if isinstance(e, Wallet.GemsDebited)]
    assert kinds == [REFUND, DEBT_SETTLED, DEBT_SETTLED]


# -- properties --------------------------------------------------------------------

credits = st.tuples(
    st.just("credit"), st.integers(1, 2000), st.sampled_from(["p1", "p2", "p3", "p4"])
)
purchases = st.tuples(
    st.just("purchase"),
    st.integers(1, 1500),
    st.sampled_from(ITEMS),
    st.sampled_from(CHARACTERS),
    st.sampled_from(["k1", "k2", "k3", "k4", "k5"]),
)
refunds = st.tuples(
    st.just("take_back"), st.integers(1, 2000), st.sampled_from(["p1", "p2", "p3", "p4"])
)
operations = st.lists(st.one_of(credits, purchases, refunds), max_size=40)


def run(wallet: Wallet, operation: tuple[Any, ...]) -> None:
    match operation:
        case ("credit", gems, reference):
            wallet.credit(gems, kind="gem_pack", reference=reference)
        case ("take_back", gems, reference):
            wallet.take_back(gems, reference=reference)
        case ("purchase", price, item, character, key):
            wallet.purchase(
                item_id=item, price_gems=price, character_id=character, idempotency_key=key
            )


def state(wallet: Wallet) -> tuple[Any, ...]:
    return (
        wallet.id,
        wallet.version,
        wallet.balance,
        wallet.debt,
        wallet.credits,
        wallet.refunds,
        wallet.purchases,
        wallet.owned,
    )


@settings(max_examples=300)
@given(operations)
def test_the_balance_is_the_sum_of_the_ledger_and_never_negative(
    sequence: list[tuple[Any, ...]],
) -> None:
    wallet = Wallet.open(uuid4())
    events: list[Any] = list(wallet.collect_events())
    for operation in sequence:
        with contextlib.suppress(DomainError):
            run(wallet, operation)
        events.extend(wallet.collect_events())
        assert wallet.balance >= 0
        assert wallet.debt >= 0
        assert wallet.balance == sum(signed(e) for e in events)
        assert not (wallet.balance and wallet.debt), "a debt is settled before gems are kept"
    purchased = [e for e in events if isinstance(e, Wallet.ItemPurchased)]
    assert len({(e.character_id, e.item_id) for e in purchased}) == len(purchased)
    assert len({e.idempotency_key for e in purchased}) == len(purchased)


@settings(max_examples=200)
@given(sequence=operations)
def test_replaying_the_events_gives_the_same_wallet(
    sequence: list[tuple[Any, ...]], replay: Callable[[Iterable[Any]], Any]
) -> None:
    wallet = Wallet.open(uuid4())
    events: list[Any] = list(wallet.collect_events())
    for operation in sequence:
        with contextlib.suppress(DomainError):
            run(wallet, operation)
        events.extend(wallet.collect_events())
    assert state(replay(events)) == state(wallet)
