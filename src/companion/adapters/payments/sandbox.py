"""The sandbox gateway: checkouts and subscriptions that complete locally, marked as sandbox.

It produces the same events a real provider's webhooks would, and they are
applied by the same use case; only the `sandbox` mark tells them apart. A
subscription starts active with its first invoice paid (so its first bonus gems
are credited); there are no renewals. It takes no webhooks: anything posted to
the Stripe webhook is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID, uuid4

from companion.domain.catalogue import GemPack
from companion.domain.payments import (
    Checkout,
    GatewayEvent,
    InvalidSignature,
    Provider,
    SubscriptionCheckout,
    SubscriptionState,
)

SANDBOX_PERIOD_SECONDS = 30 * 24 * 3600
"""A sandbox subscription's period: a month."""


class SandboxGateway:
    """Payments that succeed at once, without money or network."""

    provider: Provider = "sandbox"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def _event(self, **values: object) -> GatewayEvent:
        return GatewayEvent(
            provider="sandbox",
            event_id=f"sandbox_evt_{uuid4().hex}",
            created=int(self._clock()),
            sandbox=True,
            **values,  # type: ignore[arg-type]
        )

    def checkout(self, *, user_id: UUID, pack: GemPack) -> Checkout:
        checkout_id = f"sandbox_pi_{uuid4().hex}"
        paid = self._event(
            kind="payment_succeeded",
            type="payment_intent.succeeded",
            provider_payment_id=checkout_id,
            amount_yen=pack.price_yen,
            user_id=user_id,
        )
        return Checkout(checkout_id=checkout_id, events=(paid,))

    def create_customer(self, *, user_id: UUID) -> str:
        return f"sandbox_cus_{user_id.hex}"

    def subscribe(
        self, *, user_id: UUID, customer_id: str | None, tier: str
    ) -> SubscriptionCheckout:
        state = SubscriptionState(
            subscription_id=f"sandbox_sub_{uuid4().hex}",
            status="active",
            tier=tier,
            current_period_end=int(self._clock()) + SANDBOX_PERIOD_SECONDS,
            customer_id=customer_id,
        )
        started = self._event(
            kind="subscription_changed",
            type="customer.subscription.created",
            user_id=user_id,
            subscription=state,
        )
        first_invoice = self._event(
            kind="invoice_paid",
            type="invoice.paid",
            user_id=user_id,
            subscription=state,
            invoice_id=f"sandbox_in_{uuid4().hex}",
        )
        return SubscriptionCheckout(state=state, events=(started, first_invoice))

    def cancel_at_period_end(
        self, *, user_id: UUID, state: SubscriptionState
    ) -> SubscriptionCheckout:
        cancelled = SubscriptionState(
            subscription_id=state.subscription_id,
            status=state.status,
            tier=state.tier,
            cancel_at_period_end=True,
            current_period_end=state.current_period_end,
            customer_id=state.customer_id,
        )
        updated = self._event(
            kind="subscription_changed",
            type="customer.subscription.updated",
            user_id=user_id,
            subscription=cancelled,
        )
        return SubscriptionCheckout(state=cancelled, events=(updated,))

    def verify(self, payload: bytes, signature: str | None) -> GatewayEvent:
        raise InvalidSignature(
            "this server uses the payments sandbox, which takes no webhooks"
            " (set COMPANION_PAYMENTS=stripe)"
        )
