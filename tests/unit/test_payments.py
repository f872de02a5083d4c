"""Payments: gems only from a verified provider event, each event once, refunds taken back.

The story tests run twice: with events as the sandbox makes them and with
Stripe's own event bodies read by the Stripe adapter, through the one use case
that applies both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.adapters.payments.sandbox import SandboxGateway
from companion.adapters.payments.stripe_gateway import StripeGateway
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.catalogue import GemPack, gem_pack
from companion.domain.characters import Persona
from companion.domain.errors import InvalidInput
from companion.domain.payments import (
    Checkout,
    GatewayEvent,
    InvalidSignature,
    Payment,
    ProviderEvent,
    SubscriptionCheckout,
    SubscriptionState,
    check_amount,
)
from companion.domain.wallet import Wallet
from tests.support.personas import persona_input
from tests.support.settings import cheap_settings

PACK = gem_pack("gems-100")  # 100 gems for 200 yen
PRICES = {"premium": "price_premium", "ultimate": "price_ultimate"}
STRIPE = StripeGateway(secret_key="sk_test_unit", webhook_secret="whsec_unit", prices=PRICES)


# -- the Payment aggregate ---------------------------------------------------------


def new_payment(pack: GemPack = PACK) -> Payment:
    return Payment.start(
        provider="stripe",
        provider_payment_id=f"pi_{uuid4().hex}",
        user_id=uuid4(),
        pack=pack,
        sandbox=False,
    )


@pytest.mark.parametrize("amount", [0, -1, -200, True, 200.0, "200", None])
def test_an_amount_of_money_is_a_whole_positive_number_of_yen(amount: Any) -> None:
    with pytest.raises(InvalidInput):
        check_amount("amount_yen", amount)


@pytest.mark.parametrize("amount", [0, -200, 199, 201])
def test_a_success_for_another_amount_than_the_price_credits_nothing(amount: int) -> None:
    payment = new_payment()
    with pytest.raises(InvalidInput):
        payment.succeed(event_id="evt_1", amount_yen=amount)
    assert not payment.succeeded


@given(
    refunds=st.lists(st.integers(1, PACK.price_yen), max_size=6),
    success_at=st.integers(0, 6),
)
def test_refunds_in_any_order_take_back_what_the_money_says_never_more(
    refunds: list[int], success_at: int
) -> None:
    """Refund totals arrive in any order, before or after the success."""
    payment = new_payment()
    credited = taken = 0
    for index in range(len(refunds) + 1):
        if index == min(success_at, len(refunds)):
            settled = payment.succeed(event_id="evt_paid", amount_yen=PACK.price_yen)
            credited += settled.credit
            taken += settled.take_back
        if index < len(refunds):
            taken += payment.refund(event_id=f"evt_{index}", refunded_yen=refunds[index]).take_back
    assert credited == PACK.gems
    largest = max(refunds, default=0)
    assert taken == PACK.gems * largest // PACK.price_yen
    assert 0 <= taken <= credited


def test_a_refund_beyond_the_amount_paid_is_refused() -> None:
    with pytest.raises(InvalidInput):
        new_payment().refund(event_id="evt_1", refunded_yen=PACK.price_yen + 1)


def test_a_failure_after_the_success_does_not_undo_it() -> None:
    payment = new_payment()
    payment.succeed(event_id="evt_1", amount_yen=PACK.price_yen)
    payment.fail(event_id="evt_2", reason="card_declined")
    assert payment.succeeded
    assert payment.failures == 0


# -- stories, through the use case --------------------------------------------------


class PendingGateway:
    """A provider whose checkouts wait for its events (Stripe's way), without a network."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def checkout(self, *, user_id: UUID, pack: GemPack) -> Checkout:
        return Checkout(checkout_id=f"pi_{uuid4().hex}", client_secret="pi_secret")

    def create_customer(self, *, user_id: UUID) -> str:
        return f"cus_{user_id.hex}"

    def subscribe(
        self, *, user_id: UUID, customer_id: str | None, tier: str
    ) -> SubscriptionCheckout:
        return SubscriptionCheckout(
            state=SubscriptionState(subscription_id=f"sub_{uuid4().hex}", status="incomplete")
        )

    def cancel_at_period_end(
        self, *, user_id: UUID, state: SubscriptionState
    ) -> SubscriptionCheckout:
        return SubscriptionCheckout(state=state)

    def verify(self, payload: bytes, signature: str | None) -> GatewayEvent:
        raise InvalidSignature("no webhooks here")


@pytest.fixture
def companion(tmp_path: Path) -> Iterator[Companion]:
    companion = bootstrap(
        cheap_settings(
            database_url="memory://",
            data_dir=tmp_path,
        )
    )
    yield companion
    companion.close()


def register(companion: Companion) -> UUID:
    return companion.accounts.register(
        email=f"{uuid4().hex[:10]}@example.com",
        password="correct horse battery",
        name="Aiko",
        nickname="Ai",
    )


def stripe_event(
    event_type: str, obj: dict[str, Any], created: int = 1_700_000_000
) -> GatewayEvent:
    """A Stripe event body, read by the Stripe adapter as a verified webhook would be."""
    body = {
        "id": f"evt_{uuid4().hex}",
        "object": "event",
        "type": event_type,
        "created": created,
        "data": {"object": obj},
    }
    return STRIPE.event(body)


class Feed:
    """The events of one provider about one checkout, as that provider makes them."""

    def __init__(self, provider: str, checkout_id: str, user_id: UUID) -> None:
        self.provider = provider
        self.checkout_id = checkout_id
        self.user_id = user_id

    def succeeded(self, amount: Any = PACK.price_yen) -> GatewayEvent:
        if self.provider == "stripe":
            return stripe_event(
                "payment_intent.succeeded",
                {
                    "id": self.checkout_id,
                    "object": "payment_intent",
                    "amount": PACK.price_yen,
                    "amount_received": amount,
                    "currency": "jpy",
                    "metadata": {"user_id": str(self.user_id)},
                },
            )
        return self._sandbox("payment_succeeded", "payment_intent.succeeded", amount)

    def refunded(self, total: Any = PACK.price_yen) -> GatewayEvent:
        if self.provider == "stripe":
            return stripe_event(
                "charge.refunded",
                {
                    "id": f"ch_{uuid4().hex}",
                    "object": "charge",
                    "payment_intent": self.checkout_id,
                    "amount": PACK.price_yen,
                    "amount_refunded": total,
                    "currency": "jpy",
                },
            )
        return self._sandbox("payment_refunded", "charge.refunded", total)

    def failed(self) -> GatewayEvent:
        if self.provider == "stripe":
            return stripe_event(
                "payment_intent.payment_failed",
                {
                    "id": self.checkout_id,
                    "object": "payment_intent",
                    "amount_received": 0,
                    "currency": "jpy",
                    "last_payment_error": {"code": "card_declined"},
                },
            )
        return self._sandbox("payment_failed", "payment_intent.payment_failed", None)

    def _sandbox(self, kind: str, event_type: str, amount: Any) -> GatewayEvent:
        return GatewayEvent(
            provider="sandbox",
            event_id=f"sandbox_evt_{uuid4().hex}",
            kind=kind,  # type: ignore[arg-type]
            type=event_type,
            provider_payment_id=self.checkout_id,
            amount_yen=amount,
            user_id=self.user_id,
            sandbox=True,
        )


@pytest.fixture(params=["sandbox", "stripe"])
def checkout(request: pytest.FixtureRequest, companion: Companion) -> Feed:
    """A user's gem-pack checkout, waiting for its provider's events."""
    companion.payments.gateway = PendingGateway(request.param)  # type: ignore[assignment]
    user_id = register(companion)
    started, _ = companion.payments.checkout(user_id=user_id, pack_id=PACK.pack_id)
    return Feed(request.param, started.checkout_id, user_id)


def wallet(companion: Companion, user_id: UUID) -> Wallet | None:
    return companion.commerce.wallet(user_id)


def balance(companion: Companion, user_id: UUID) -> int:
    found = wallet(companion, user_id)
    return found.balance if found is not None else 0


def stored_events(companion: Companion) -> int:
    return len(list(companion.application.recorder.select_notifications(start=1, limit=10_000)))


def test_a_checkout_alone_credits_nothing(companion: Companion, checkout: Feed) -> None:
    assert balance(companion, checkout.user_id) == 0


def test_the_success_event_credits_the_pack_once(companion: Companion, checkout: Feed) -> None:
    paid = checkout.succeeded()
    assert companion.payments.apply(paid).outcome == "applied"
    assert balance(companion, checkout.user_id) == PACK.gems
    before = stored_events(companion)
    assert companion.payments.apply(paid).outcome == "duplicate"
    assert stored_events(companion) == before
    assert balance(companion, checkout.user_id) == PACK.gems


def test_a_second_success_event_for_the_same_payment_credits_nothing(
    companion: Companion, checkout: Feed
) -> None:
    companion.payments.apply(checkout.succeeded())
    companion.payments.apply(checkout.succeeded())
    assert balance(companion, checkout.user_id) == PACK.gems


def test_a_credit_is_marked_sandbox_only_when_the_sandbox_made_it(
    companion: Companion, checkout: Feed
) -> None:
    companion.payments.apply(checkout.succeeded())
    found = wallet(companion, checkout.user_id)
    assert found is not None
    credits = [
        e for e in companion.application.events.get(found.id) if isinstance(e, Wallet.GemsCredited)
    ]
    assert [c.sandbox for c in credits] == [checkout.provider == "sandbox"]


@pytest.mark.parametrize("amount", [0, -200, 199, "200", None])
def test_zero_negative_or_wrong_amounts_are_rejected_and_change_nothing(
    companion: Companion, checkout: Feed, amount: Any
) -> None:
    bad = checkout.succeeded(amount)
    assert companion.payments.apply(bad).outcome == "rejected"
    assert balance(companion, checkout.user_id) == 0
    # Recorded as rejected: the same event again is a duplicate, still nothing.
    assert companion.payments.apply(bad).outcome == "duplicate"
    # The right event still credits.
    assert companion.payments.apply(checkout.succeeded()).outcome == "applied"
    assert balance(companion, checkout.user_id) == PACK.gems


@pytest.mark.parametrize("total", [0, -1])
def test_a_refund_of_zero_or_less_is_rejected(
    companion: Companion, checkout: Feed, total: int
) -> None:
    companion.payments.apply(checkout.succeeded())
    assert companion.payments.apply(checkout.refunded(total)).outcome == "rejected"
    assert balance(companion, checkout.user_id) == PACK.gems


def test_a_refund_takes_the_gems_back(companion: Companion, checkout: Feed) -> None:
    companion.payments.apply(checkout.succeeded())
    refund = checkout.refunded()
    assert companion.payments.apply(refund).outcome == "applied"
    assert balance(companion, checkout.user_id) == 0
    assert companion.payments.apply(refund).outcome == "duplicate"
    assert balance(companion, checkout.user_id) == 0


def test_a_refund_before_its_payment_is_settled_when_the_payment_arrives(
    companion: Companion, checkout: Feed
) -> None:
    assert companion.payments.apply(checkout.refunded()).outcome == "applied"
    assert balance(companion, checkout.user_id) == 0
    assert companion.payments.apply(checkout.succeeded()).outcome == "applied"
    found = wallet(companion, checkout.user_id)
    assert found is not None
    assert (found.balance, found.debt) == (0, 0)
    kinds = [type(e).__name__ for e in companion.application.events.get(found.id)]
    assert kinds == ["Opened", "GemsCredited", "GemsDebited"]


def test_a_partial_refund_takes_back_its_share(companion: Companion, checkout: Feed) -> None:
    companion.payments.apply(checkout.succeeded())
    companion.payments.apply(checkout.refunded(PACK.price_yen // 2))
    assert balance(companion, checkout.user_id) == PACK.gems // 2
    # An older, smaller total arriving late takes nothing more.
    companion.payments.apply(checkout.refunded(PACK.price_yen // 4))
    assert balance(companion, checkout.user_id) == PACK.gems // 2
    companion.payments.apply(checkout.refunded(PACK.price_yen))
    assert balance(companion, checkout.user_id) == 0


def test_a_refund_of_spent_gems_leaves_a_debt_that_stops_purchases(
    companion: Companion, checkout: Feed
) -> None:
    companion.payments.apply(checkout.succeeded())
    item_id, _ = companion.commerce.list_item(
        slug=f"ribbon-{uuid4().hex[:8]}",
        name="Ribbon",
        category="accessories",
        rarity="common",
        price_gems=60,
    )
    character_id, _ = companion.characters.create_character(
        user_id=checkout.user_id, persona=_persona()
    )
    companion.commerce.purchase(
        user_id=checkout.user_id, item_id=item_id, character_id=character_id, idempotency_key="k1"
    )
    companion.payments.apply(checkout.refunded())
    found = wallet(companion, checkout.user_id)
    assert found is not None
    assert (found.balance, found.debt) == (0, 60)


def test_a_failed_payment_credits_nothing_and_a_later_success_still_does(
    companion: Companion, checkout: Feed
) -> None:
    assert companion.payments.apply(checkout.failed()).outcome == "applied"
    assert balance(companion, checkout.user_id) == 0
    companion.payments.apply(checkout.succeeded())
    assert balance(companion, checkout.user_id) == PACK.gems


def test_a_payment_not_made_through_this_service_is_ignored(companion: Companion) -> None:
    stranger = Feed("stripe", f"pi_{uuid4().hex}", uuid4())
    assert companion.payments.apply(stranger.succeeded()).outcome == "ignored"


def test_an_event_of_a_type_not_handled_is_recorded_and_ignored(companion: Companion) -> None:
    other = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    assert other.kind == "ignored"
    assert companion.payments.apply(other).outcome == "ignored"
    assert companion.payments.apply(other).outcome == "duplicate"
    recorded = companion.application.repository.get(
        ProviderEvent.create_id("stripe", other.event_id)
    )
    assert recorded.outcome == "ignored"


# -- the sandbox -----------------------------------------------------------------------


def test_the_sandbox_checkout_completes_at_once_marked_as_sandbox(companion: Companion) -> None:
    companion.payments.gateway = SandboxGateway()
    user_id = register(companion)
    started, _ = companion.payments.checkout(user_id=user_id, pack_id=PACK.pack_id)
    assert started.checkout_id.startswith("sandbox_")
    assert [e.sandbox for e in started.events] == [True]
    assert balance(companion, user_id) == PACK.gems
    # Its completion is an ordinary provider event: applying it again changes nothing.
    assert companion.payments.apply(started.events[0]).outcome == "duplicate"
    assert balance(companion, user_id) == PACK.gems


def test_the_sandbox_takes_no_webhooks(companion: Companion) -> None:
    companion.payments.gateway = SandboxGateway()
    with pytest.raises(InvalidSignature):
        companion.payments.receive(b"{}", "t=1,v1=00")


def _persona() -> Persona:
    return Persona.parse(**persona_input())
