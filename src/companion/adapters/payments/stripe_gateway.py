"""Stripe through its SDK: PaymentIntents for gem packs, Customers and Subscriptions for tiers.

Webhooks are verified with the SDK's own `stripe.Webhook.construct_event`
(an HMAC-SHA256 of `timestamp.payload` with the webhook secret, within a
tolerance of five minutes) before anything in them is read. Amounts are in
yen, which Stripe counts in whole units (JPY has no decimals).

The secret key stays inside the SDK's client; no log line or error carries it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from uuid import UUID

import stripe
import structlog

from companion.domain.catalogue import GemPack
from companion.domain.payments import (
    Checkout,
    EventKind,
    GatewayEvent,
    GatewayUnavailable,
    InvalidSignature,
    Provider,
    SubscriptionCheckout,
    SubscriptionState,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")
CURRENCY = "jpy"
WEBHOOK_TOLERANCE_SECONDS = 300

PAYMENT_KINDS: dict[str, EventKind] = {
    "payment_intent.succeeded": "payment_succeeded",
    "payment_intent.payment_failed": "payment_failed",
    "charge.refunded": "payment_refunded",
}
SUBSCRIPTION_KINDS: dict[str, EventKind] = {
    "customer.subscription.created": "subscription_changed",
    "customer.subscription.updated": "subscription_changed",
    "customer.subscription.deleted": "subscription_deleted",
}


class StripeGateway:
    """The Stripe API for checkouts and subscriptions, and Stripe's signed webhooks."""

    provider: Provider = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        prices: Mapping[str, str],
        api_base: str | None = None,
        max_network_retries: int = 2,
    ) -> None:
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        self._prices = dict(prices)
        self._tiers = {price: tier for tier, price in prices.items()}

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except stripe.StripeError as error:
            # The error's type and code say enough; its message may echo request data.
            log.error("stripe.call_failed", call=what, error=type(error).__name__, code=error.code)
            raise GatewayUnavailable("the payment provider cannot take this now") from None

    def checkout(self, *, user_id: UUID, pack: GemPack) -> Checkout:
        intent = self._call(
            "payment_intents.create",
            lambda: self._client.v1.payment_intents.create(
                params={
                    "amount": pack.price_yen,
                    "currency": CURRENCY,
                    "automatic_payment_methods": {"enabled": True},
                    "metadata": {"user_id": str(user_id), "pack_id": pack.pack_id},
                }
            ),
        )
        return Checkout(checkout_id=intent.id, client_secret=intent.client_secret)

    def create_customer(self, *, user_id: UUID) -> str:
        customer = self._call(
            "customers.create",
            lambda: self._client.v1.customers.create(
                params={"metadata": {"user_id": str(user_id)}},
                options={"idempotency_key": f"customer-{user_id}"},
            ),
        )
        return customer.id

    def subscribe(
        self, *, user_id: UUID, customer_id: str | None, tier: str
    ) -> SubscriptionCheckout:
        if customer_id is None:
            customer_id = self.create_customer(user_id=user_id)
        created = self._call(
            "subscriptions.create",
            lambda: self._client.v1.subscriptions.create(
                params={
                    "customer": customer_id,
                    "items": [{"price": self._prices[tier]}],
                    "payment_behavior": "default_incomplete",
                    "payment_settings": {"save_default_payment_method": "on_subscription"},
                    "expand": ["latest_invoice.confirmation_secret"],
                    "metadata": {"user_id": str(user_id), "tier": tier},
                }
            ),
        )
        body = created.to_dict()
        secret = _dig(body, "latest_invoice", "confirmation_secret", "client_secret")
        return SubscriptionCheckout(
            state=self._state(body), client_secret=secret if isinstance(secret, str) else None
        )

    def cancel_at_period_end(
        self, *, user_id: UUID, state: SubscriptionState
    ) -> SubscriptionCheckout:
        updated = self._call(
            "subscriptions.update",
            lambda: self._client.v1.subscriptions.update(
                state.subscription_id, params={"cancel_at_period_end": True}
            ),
        )
        return SubscriptionCheckout(state=self._state(updated.to_dict()))

    def verify(self, payload: bytes, signature: str | None) -> GatewayEvent:
        try:
            stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
            body = json.loads(payload)
        except stripe.SignatureVerificationError:
            raise InvalidSignature("the Stripe-Signature does not match, or is too old") from None
        except (ValueError, TypeError, AttributeError):
            raise InvalidSignature("the body is not a Stripe event") from None
        if not isinstance(body, dict):
            raise InvalidSignature("the body is not a Stripe event")
        return self.event(body)

    def event(self, body: Mapping[str, Any]) -> GatewayEvent:
        """A verified Stripe event in the domain's words (kind "ignored" when not handled)."""
        event_type = str(body.get("type", ""))
        base = {
            "provider": self.provider,
            "event_id": str(body.get("id", "")),
            "type": event_type,
            "created": _whole(body.get("created")) or 0,
        }
        obj = _dig(body, "data", "object")
        if not isinstance(obj, dict):
            return GatewayEvent(kind="ignored", **base)  # type: ignore[arg-type]
        if event_type in PAYMENT_KINDS:
            return self._payment_event(PAYMENT_KINDS[event_type], obj, base)
        if event_type in SUBSCRIPTION_KINDS:
            return GatewayEvent(
                kind=SUBSCRIPTION_KINDS[event_type],
                user_id=_user_id(obj.get("metadata")),
                subscription=self._state(obj),
                **base,  # type: ignore[arg-type]
            )
        if event_type == "invoice.paid":
            return self._invoice_event(obj, base)
        return GatewayEvent(kind="ignored", **base)  # type: ignore[arg-type]

    def _payment_event(
        self, kind: EventKind, obj: Mapping[str, Any], base: dict[str, Any]
    ) -> GatewayEvent:
        in_yen = str(obj.get("currency", "")).lower() == CURRENCY
        if kind == "payment_refunded":
            payment = obj.get("payment_intent")
            amount = _whole(obj.get("amount_refunded"))
        else:
            payment = obj.get("id")
            amount = _whole(obj.get("amount_received"))
        reason = _dig(obj, "last_payment_error", "code")
        return GatewayEvent(
            kind=kind,
            provider_payment_id=payment if isinstance(payment, str) else None,
            amount_yen=amount if in_yen else None,
            reason=reason if isinstance(reason, str) else None,
            user_id=_user_id(obj.get("metadata")),
            **base,
        )

    def _invoice_event(self, obj: Mapping[str, Any], base: dict[str, Any]) -> GatewayEvent:
        details = _dig(obj, "parent", "subscription_details") or obj.get("subscription_details")
        details = details if isinstance(details, dict) else {}
        subscription = details.get("subscription") or obj.get("subscription")
        if isinstance(subscription, dict):
            subscription = subscription.get("id")
        if not isinstance(subscription, str):
            return GatewayEvent(kind="ignored", **base)  # a one-off invoice
        lines = _dig(obj, "lines", "data")
        line = lines[0] if isinstance(lines, list) and lines else {}
        period_end = _whole(_dig(line, "period", "end"))
        # Newer API versions name the price under `pricing`, older ones under `price`.
        price = _dig(line, "pricing", "price_details", "price") or _dig(line, "price", "id")
        customer = obj.get("customer")
        invoice = obj.get("id")
        return GatewayEvent(
            kind="invoice_paid",
            user_id=_user_id(details.get("metadata")),
            invoice_id=invoice if isinstance(invoice, str) and invoice else None,
            subscription=SubscriptionState(
                subscription_id=subscription,
                status="active",
                tier=self._tiers.get(price) if isinstance(price, str) else None,
                current_period_end=period_end,
                customer_id=customer if isinstance(customer, str) else None,
            ),
            **base,
        )

    def _state(self, obj: Mapping[str, Any]) -> SubscriptionState:
        items = _dig(obj, "items", "data")
        first = items[0] if isinstance(items, list) and items else {}
        price = _dig(first, "price", "id")
        metadata = obj.get("metadata")
        tier = self._tiers.get(price) if isinstance(price, str) else None
        if tier is None and isinstance(metadata, dict):
            named = metadata.get("tier")
            tier = named if named in self._prices else None
        # Newer API versions keep the period on the subscription's items.
        period_end = _whole(obj.get("current_period_end")) or _whole(
            _dig(first, "current_period_end")
        )
        customer = obj.get("customer")
        return SubscriptionState(
            subscription_id=str(obj.get("id", "")),
            status=str(obj.get("status", "")),
            tier=tier,
            cancel_at_period_end=obj.get("cancel_at_period_end") is True,
            current_period_end=period_end,
            customer_id=customer if isinstance(customer, str) else None,
        )


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _whole(value: Any) -> int | None:
    """An integer as JSON gave it; anything else (text, fractions, booleans) is no amount."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _user_id(metadata: Any) -> UUID | None:
    raw = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    try:
        return UUID(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
