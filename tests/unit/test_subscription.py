"""The tier follows the subscription's lifecycle, as the provider's events tell it."""

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
from companion.domain.errors import InvalidInput
from companion.domain.payments import GatewayEvent, SubscriptionState
from companion.domain.subscription import (
    AlreadySubscribed,
    Subscription,
    SubscriptionNotFound,
)
from companion.domain.users import User
from tests.support.settings import cheap_settings

PRICES = {"premium": "price_premium", "ultimate": "price_ultimate"}
STRIPE = StripeGateway(secret_key="sk_test_unit", webhook_secret="whsec_unit", prices=PRICES)
T0 = 1_700_000_000
MONTH = 30 * 24 * 3600


def state(status: str = "active", **changes: Any) -> SubscriptionState:
    values: dict[str, Any] = {
        "subscription_id": "sub_1",
        "status": status,
        "tier": "premium",
        "current_period_end": T0 + MONTH,
    }
    values.update(changes)
    return SubscriptionState(**values)


# -- the aggregate ---------------------------------------------------------------


def test_the_tier_is_granted_only_while_the_subscription_is_paid() -> None:
    subscription = Subscription.open(uuid4())
    assert subscription.entitled_tier == "free"
    subscription.observe(state("incomplete"), at=T0)
    assert subscription.entitled_tier == "free"
    subscription.observe(state("active"), at=T0 + 1)
    assert subscription.entitled_tier == "premium"


def test_a_failed_renewal_takes_the_tier_away_until_an_invoice_is_paid() -> None:
    subscription = Subscription.open(uuid4())
    subscription.observe(state("active"), at=T0)
    subscription.observe(state("past_due"), at=T0 + MONTH)
    assert subscription.entitled_tier == "free"
    assert subscription.live
    assert subscription.renew(
        provider_subscription_id="sub_1", current_period_end=T0 + 2 * MONTH, at=T0 + MONTH + 60
    )
    assert subscription.entitled_tier == "premium"
    assert subscription.current_period_end == T0 + 2 * MONTH


def test_a_cancellation_at_period_end_keeps_the_tier_until_the_subscription_ends() -> None:
    subscription = Subscription.open(uuid4())
    subscription.observe(state("active"), at=T0)
    subscription.observe(state("active", cancel_at_period_end=True), at=T0 + 10)
    assert subscription.entitled_tier == "premium"
    assert subscription.observe(state("canceled"), at=T0 + MONTH)
    assert subscription.entitled_tier == "free"
    assert not subscription.live


def test_an_older_snapshot_arriving_late_changes_nothing() -> None:
    subscription = Subscription.open(uuid4())
    subscription.observe(state("incomplete"), at=T0)
    subscription.observe(state("active"), at=T0 + 20)
    assert not subscription.observe(state("incomplete"), at=T0 + 10)
    assert subscription.entitled_tier == "premium"


def test_a_late_event_of_an_ended_subscription_does_not_touch_the_new_one() -> None:
    subscription = Subscription.open(uuid4())
    subscription.observe(state("active"), at=T0)
    subscription.observe(state("canceled"), at=T0 + 5)
    subscription.observe(state("active", subscription_id="sub_2", tier="ultimate"), at=T0 + 10)
    assert not subscription.observe(state("past_due"), at=T0 + 20)
    assert not subscription.observe(state("canceled"), at=T0 + 30)
    assert subscription.entitled_tier == "ultimate"


def test_only_paid_tiers_can_be_subscribed() -> None:
    with pytest.raises(InvalidInput):
        Subscription.open(uuid4()).observe(state("active", tier="free"), at=T0)


STATUSES = ["incomplete", "active", "trialing", "past_due", "unpaid", "canceled", "invoice_paid"]


@given(
    st.lists(st.tuples(st.sampled_from(STATUSES), st.booleans()), min_size=1, max_size=8).flatmap(
        lambda snapshots: st.permutations(list(enumerate(snapshots)))
    )
)
def test_events_in_any_order_leave_the_tier_they_leave_in_order(
    arrivals: list[tuple[int, tuple[str, bool]]],
) -> None:
    """Webhooks arrive in any order; each says when it was made, and the outcome is the same."""

    def final(order: list[tuple[int, tuple[str, bool]]]) -> tuple[str, bool, str]:
        subscription = Subscription.open(uuid4())
        for at, (status, cancelling) in order:
            if status == "invoice_paid":
                subscription.renew(
                    provider_subscription_id="sub_1",
                    current_period_end=T0 + at,
                    at=T0 + at,
                    tier="premium",
                )
            else:
                subscription.observe(state(status, cancel_at_period_end=cancelling), at=T0 + at)
        return subscription.entitled_tier, subscription.live, subscription.status

    assert final(arrivals) == final(sorted(arrivals))


# -- the user's tier, through the use case ------------------------------------------


@pytest.fixture
def companion(tmp_path: Path) -> Iterator[Companion]:
    companion = bootstrap(cheap_settings(database_url="memory://", data_dir=tmp_path))
    yield companion
    companion.close()


@pytest.fixture
def user_id(companion: Companion) -> UUID:
    return companion.accounts.register(
        email=f"{uuid4().hex[:10]}@example.com",
        password="correct horse battery",
        name="Aiko",
        nickname="Ai",
    )


def stripe_subscription(
    event_type: str,
    user_id: UUID,
    status: str,
    *,
    at: int,
    price: str = "price_premium",
    **more: Any,
) -> GatewayEvent:
    obj = {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_1",
        "status": status,
        "cancel_at_period_end": more.get("cancel_at_period_end", False),
        "metadata": {"user_id": str(user_id)},
        "items": {
            "data": [{"price": {"id": price}, "current_period_end": more.get("end", T0 + MONTH)}]
        },
    }
    body = {"id": f"evt_{uuid4().hex}", "type": event_type, "created": at, "data": {"object": obj}}
    return STRIPE.event(body)


def invoice_paid(user_id: UUID, *, at: int, end: int) -> GatewayEvent:
    obj = {
        "id": f"in_{uuid4().hex}",
        "object": "invoice",
        "customer": "cus_1",
        "parent": {
            "subscription_details": {"subscription": "sub_1", "metadata": {"user_id": str(user_id)}}
        },
        "lines": {"data": [{"period": {"start": end - MONTH, "end": end}}]},
    }
    body = {
        "id": f"evt_{uuid4().hex}",
        "type": "invoice.paid",
        "created": at,
        "data": {"object": obj},
    }
    return STRIPE.event(body)


def tier(companion: Companion, user_id: UUID) -> str:
    return companion.accounts.user(user_id).tier


def tier_changes(companion: Companion, user_id: UUID) -> list[str]:
    return [
        e.tier for e in companion.application.events.get(user_id) if isinstance(e, User.TierChanged)
    ]


def test_the_users_tier_follows_a_stripe_subscription_through_its_life(
    companion: Companion, user_id: UUID
) -> None:
    apply = companion.payments.apply
    apply(stripe_subscription("customer.subscription.created", user_id, "incomplete", at=T0))
    assert tier(companion, user_id) == "free"
    apply(stripe_subscription("customer.subscription.updated", user_id, "active", at=T0 + 1))
    apply(invoice_paid(user_id, at=T0 + 1, end=T0 + MONTH))
    assert tier(companion, user_id) == "premium"
    # The renewal fails: past due, the tier goes; the retry is paid, it comes back.
    apply(stripe_subscription("customer.subscription.updated", user_id, "past_due", at=T0 + MONTH))
    assert tier(companion, user_id) == "free"
    apply(invoice_paid(user_id, at=T0 + MONTH + 3600, end=T0 + 2 * MONTH))
    assert tier(companion, user_id) == "premium"
    # Cancelled at period end: kept until Stripe deletes the subscription.
    apply(
        stripe_subscription(
            "customer.subscription.updated",
            user_id,
            "active",
            at=T0 + MONTH + 7200,
            cancel_at_period_end=True,
            end=T0 + 2 * MONTH,
        )
    )
    assert tier(companion, user_id) == "premium"
    apply(
        stripe_subscription("customer.subscription.deleted", user_id, "canceled", at=T0 + 2 * MONTH)
    )
    assert tier(companion, user_id) == "free"
    assert tier_changes(companion, user_id) == ["premium", "free", "premium", "free"]


def test_a_replayed_subscription_event_changes_nothing(companion: Companion, user_id: UUID) -> None:
    started = stripe_subscription("customer.subscription.created", user_id, "active", at=T0)
    ended = stripe_subscription("customer.subscription.deleted", user_id, "canceled", at=T0 + 9)
    companion.payments.apply(started)
    companion.payments.apply(ended)
    assert companion.payments.apply(started).outcome == "duplicate"
    assert tier(companion, user_id) == "free"


def test_the_price_names_the_tier(companion: Companion, user_id: UUID) -> None:
    companion.payments.apply(
        stripe_subscription(
            "customer.subscription.created", user_id, "active", at=T0, price="price_ultimate"
        )
    )
    assert tier(companion, user_id) == "ultimate"


def test_the_sandbox_subscribes_and_cancels_at_period_end(
    companion: Companion, user_id: UUID
) -> None:
    companion.payments.gateway = SandboxGateway()
    view, _ = companion.payments.subscribe(user_id=user_id, tier="premium")
    assert (view.status, view.entitled_tier) == ("active", "premium")
    assert tier(companion, user_id) == "premium"
    # Subscribing again to the same tier answers the same subscription.
    again, _ = companion.payments.subscribe(user_id=user_id, tier="premium")
    assert again.subscription_id == view.subscription_id
    with pytest.raises(AlreadySubscribed):
        companion.payments.subscribe(user_id=user_id, tier="ultimate")
    cancelled, _ = companion.payments.cancel(user_id=user_id, tier="premium")
    assert cancelled.cancel_at_period_end
    assert tier(companion, user_id) == "premium"


def test_cancelling_without_a_subscription_is_not_found(
    companion: Companion, user_id: UUID
) -> None:
    with pytest.raises(SubscriptionNotFound):
        companion.payments.cancel(user_id=user_id, tier="premium")
