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
from companion.domain.payments import GatewayEvent, SubscriptionCheckout, SubscriptionState
from companion.domain.subscription import (
    AlreadySubscribed,
    Subscription,
    SubscriptionNotFound,
    SubscriptionOrigin,
    distrust,
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


def requested(status: str = "incomplete", *, tier: str = "premium", **changes: Any) -> Subscription:
    """A user's Subscription with the provider's subscription this service created."""
    subscription = Subscription.open(uuid4())
    subscription.request(
        state(status, tier=tier, **changes), provider="stripe", tier=tier, customer_id="cus_1"
    )
    return subscription


def test_the_tier_is_granted_only_while_the_subscription_is_paid() -> None:
    assert Subscription.open(uuid4()).entitled_tier == "free"
    subscription = requested("incomplete")
    assert subscription.entitled_tier == "free"
    subscription.observe(state("active"), at=T0 + 1)
    assert subscription.entitled_tier == "premium"


def test_a_failed_renewal_takes_the_tier_away_until_an_invoice_is_paid() -> None:
    subscription = requested()
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
    subscription = requested()
    subscription.observe(state("active"), at=T0)
    subscription.observe(state("active", cancel_at_period_end=True), at=T0 + 10)
    assert subscription.entitled_tier == "premium"
    assert subscription.observe(state("canceled"), at=T0 + MONTH)
    assert subscription.entitled_tier == "free"
    assert not subscription.live


def test_an_older_snapshot_arriving_late_changes_nothing() -> None:
    subscription = requested()
    subscription.observe(state("incomplete"), at=T0)
    subscription.observe(state("active"), at=T0 + 20)
    assert not subscription.observe(state("incomplete"), at=T0 + 10)
    assert subscription.entitled_tier == "premium"


def test_a_late_event_of_an_ended_subscription_does_not_touch_the_new_one() -> None:
    subscription = requested()
    subscription.observe(state("active"), at=T0)
    subscription.observe(state("canceled"), at=T0 + 5)
    subscription.request(
        state("active", subscription_id="sub_2", tier="ultimate"),
        provider="stripe",
        tier="ultimate",
        customer_id="cus_1",
    )
    assert not subscription.observe(state("past_due"), at=T0 + 20)
    assert not subscription.observe(state("canceled"), at=T0 + 30)
    assert subscription.entitled_tier == "ultimate"


def test_only_paid_tiers_can_be_subscribed() -> None:
    with pytest.raises(InvalidInput):
        requested(tier="free")


def test_another_subscription_cannot_be_requested_while_one_is_live() -> None:
    subscription = requested("active")
    with pytest.raises(AlreadySubscribed):
        subscription.request(
            state("active", subscription_id="sub_2"),
            provider="stripe",
            tier="premium",
            customer_id="cus_1",
        )


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
        subscription = requested()
        for at, (status, cancelling) in order:
            if status == "invoice_paid":
                subscription.renew(
                    provider_subscription_id="sub_1", current_period_end=T0 + at, at=T0 + at
                )
            else:
                subscription.observe(state(status, cancel_at_period_end=cancelling), at=T0 + at)
        return subscription.entitled_tier, subscription.live, subscription.status

    assert final(arrivals) == final(sorted(arrivals))


PROVIDER_IDS = st.sampled_from(["sub_1", "sub_2", "sub_x"])


@given(
    st.lists(
        st.tuples(
            PROVIDER_IDS,
            st.sampled_from([*STATUSES, "invoice_paid"]),
            st.sampled_from(["premium", "ultimate"]),
            st.integers(min_value=0, max_value=100),
        ),
        max_size=10,
    )
)
def test_no_event_about_a_subscription_never_requested_grants_a_tier(
    events: list[tuple[str, str, str, int]],
) -> None:
    """Whatever the provider says, about whichever subscription, nothing was requested here."""
    subscription = Subscription.open(uuid4())
    for provider_id, status, tier, at in events:
        if status == "invoice_paid":
            assert not subscription.renew(
                provider_subscription_id=provider_id, current_period_end=T0, at=T0 + at
            )
        else:
            changed = subscription.observe(
                state(status, subscription_id=provider_id, tier=tier), at=T0 + at
            )
            assert not changed
    assert (subscription.entitled_tier, subscription.live) == ("free", False)
    assert subscription.version == 1  # opened, and nothing else


@given(
    st.sampled_from(["sub_2", "sub_x"]),
    st.sampled_from(STATUSES[:-1]),
    st.integers(min_value=0, max_value=100),
)
def test_events_about_another_subscription_leave_the_requested_one_as_it_was(
    provider_id: str, status: str, at: int
) -> None:
    subscription = requested("active", subscription_id="sub_1")
    before = (subscription.entitled_tier, subscription.status, subscription.version)
    assert not subscription.observe(
        state(status, subscription_id=provider_id, tier="ultimate"), at=T0 + at
    )
    assert not subscription.renew(
        provider_subscription_id=provider_id, current_period_end=T0, at=T0
    )
    assert (subscription.entitled_tier, subscription.status, subscription.version) == before


# -- whose an event is ---------------------------------------------------------------


def origin(user_id: UUID, customer_id: str | None = "cus_1") -> SubscriptionOrigin:
    return SubscriptionOrigin.record(
        provider="stripe",
        subscription_id="sub_1",
        customer_id=customer_id,
        user_id=user_id,
        tier="premium",
        sandbox=False,
    )


@given(
    st.sampled_from(["cus_1", "cus_2", None]),
    st.sampled_from(["cus_1", "cus_2", None]),
    st.sampled_from(["owner", "another", "nobody"]),
)
def test_an_event_is_trusted_only_for_the_customer_and_user_it_was_created_for(
    created_for: str | None, event_customer: str | None, named: str
) -> None:
    owner = uuid4()
    named_user = {"owner": owner, "another": uuid4(), "nobody": None}[named]
    reason = distrust(
        origin(owner, created_for),
        state(customer_id=event_customer),
        named_user=named_user,
    )
    trusted = event_customer == created_for and named != "another"
    assert (reason == "") == trusted


def test_an_event_about_a_subscription_without_an_origin_is_never_trusted() -> None:
    reason = distrust(None, state(customer_id="cus_1"), named_user=None)
    assert reason == "a subscription this service did not create"


@pytest.mark.parametrize(
    ("created", "invoiced", "gems"),
    [
        ("premium", None, 300),
        ("ultimate", None, 1000),
        ("premium", "ultimate", 1000),
        ("ultimate", "free", 1000),
    ],
)
def test_a_paid_invoice_brings_its_tiers_monthly_bonus(
    created: str, invoiced: str | None, gems: int
) -> None:
    created_origin = SubscriptionOrigin.record(
        provider="stripe",
        subscription_id="sub_1",
        customer_id="cus_1",
        user_id=uuid4(),
        tier=created,
        sandbox=False,
    )
    assert created_origin.bonus_gems(invoiced) == gems


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


class StripeWithoutNetwork:
    """Stripe's answers to creating a customer and a subscription (sub_1 of cus_1), offline."""

    provider = "stripe"

    def create_customer(self, *, user_id: UUID) -> str:
        return "cus_1"

    def subscribe(
        self, *, user_id: UUID, customer_id: str | None, tier: str
    ) -> SubscriptionCheckout:
        created = SubscriptionState(
            subscription_id="sub_1", status="incomplete", tier=tier, customer_id=customer_id
        )
        return SubscriptionCheckout(state=created, client_secret="in_1_secret")


@pytest.fixture
def subscriber(companion: Companion, user_id: UUID) -> UUID:
    """A user for whom this service created Stripe's subscription sub_1, not paid yet."""
    companion.payments.gateway = StripeWithoutNetwork()  # type: ignore[assignment]
    view, _ = companion.payments.subscribe(user_id=user_id, tier="premium")
    assert (view.subscription_id, view.status) == ("sub_1", "incomplete")
    return user_id


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
    companion: Companion, subscriber: UUID
) -> None:
    user_id = subscriber
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


def test_a_replayed_subscription_event_changes_nothing(
    companion: Companion, subscriber: UUID
) -> None:
    user_id = subscriber
    started = stripe_subscription("customer.subscription.created", user_id, "active", at=T0)
    ended = stripe_subscription("customer.subscription.deleted", user_id, "canceled", at=T0 + 9)
    companion.payments.apply(started)
    companion.payments.apply(ended)
    assert companion.payments.apply(started).outcome == "duplicate"
    assert tier(companion, user_id) == "free"


def test_the_price_names_the_tier(companion: Companion, subscriber: UUID) -> None:
    companion.payments.apply(
        stripe_subscription(
            "customer.subscription.updated", subscriber, "active", at=T0, price="price_ultimate"
        )
    )
    assert tier(companion, subscriber) == "ultimate"


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
    with pytest.raises(SubscriptionNotFound):
        companion.payments.cancel(user_id=user_id, tier="ultimate")
    cancelled, _ = companion.payments.cancel(user_id=user_id)
    assert (cancelled.tier, cancelled.cancel_at_period_end) == ("premium", True)
    assert tier(companion, user_id) == "premium"


def test_cancelling_without_a_subscription_is_not_found(
    companion: Companion, user_id: UUID
) -> None:
    with pytest.raises(SubscriptionNotFound):
        companion.payments.cancel(user_id=user_id, tier="premium")
    with pytest.raises(SubscriptionNotFound):
        companion.payments.cancel(user_id=user_id)
