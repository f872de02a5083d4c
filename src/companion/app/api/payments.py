"""Gem-pack checkouts, subscriptions, and Stripe's webhook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, delete, post
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK

from companion.app.api import schemas
from companion.app.api.dependencies import PaymentsDep, ReadYourWritesDep, UserId
from companion.app.api.openapi import errors
from companion.app.api.throttles import checkout_throttled
from companion.app.payments import SubscriptionView

SIGNATURE_HEADER = "Stripe-Signature"


@dataclass
class OptionalBodyOperation(Operation):
    """An operation whose JSON body may be left out (the framework marks every body required)."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


class PaymentsController(Controller):
    path = "/api/v1"
    tags = ["payments"]  # noqa: RUF012

    @post(
        "/gems/checkout",
        status_code=HTTP_200_OK,
        operation_id="checkoutGems",
        sync_to_thread=True,
        guards=[checkout_throttled],
        responses=errors(404, 409, 429),
    )
    def checkout(
        self,
        data: JSONBody[schemas.CheckoutBody],
        payments: PaymentsDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> schemas.CheckoutOut:
        """Pay a gem pack. With Stripe, confirm `client_secret` with Stripe.js; the gems
        come with Stripe's webhook. The sandbox completes at once."""
        checkout, position = payments.checkout(user_id=user_id, pack_id=data.pack_id)
        read_your_writes(request, position, ["inventories"])
        return schemas.CheckoutOut(
            checkout_id=checkout.checkout_id,
            client_secret=checkout.client_secret,
            url=checkout.url,
            sandbox=payments.sandbox,
        )

    @post(
        "/subscriptions",
        status_code=HTTP_200_OK,
        operation_id="subscribe",
        sync_to_thread=True,
        guards=[checkout_throttled],
        responses=errors(409, 429),
    )
    def subscribe(
        self,
        data: JSONBody[schemas.SubscriptionBody],
        payments: PaymentsDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> schemas.SubscriptionOut:
        """Subscribe to a paid tier; it is granted when the provider says the first invoice
        is paid (at once in the sandbox)."""
        view, position = payments.subscribe(user_id=user_id, tier=data.tier)
        read_your_writes(request, position, ["users"])
        return _subscription(view)

    @delete(
        "/subscriptions",
        status_code=HTTP_200_OK,
        operation_id="unsubscribe",
        operation_class=OptionalBodyOperation,
        sync_to_thread=True,
        responses=errors(404),
    )
    def unsubscribe(
        self,
        payments: PaymentsDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.SubscriptionBody | None] = None,
    ) -> schemas.SubscriptionOut:
        """Cancel the live subscription at the end of the paid period: the tier stays until
        then. No body is needed; one may name the tier, which must be the live one's (404)."""
        tier = data.tier if data is not None else None
        view, position = payments.cancel(user_id=user_id, tier=tier)
        read_your_writes(request, position, ["users"])
        return _subscription(view)


class StripeWebhookController(Controller):
    """Public: Stripe authenticates by signing the raw body, not with a bearer token."""

    path = "/api/v1/webhooks"
    tags = ["payments"]  # noqa: RUF012

    @post(
        "/stripe",
        status_code=HTTP_200_OK,
        operation_id="stripeWebhook",
        responses=errors(400),
    )
    async def stripe(
        self,
        request: Request[Any, Any, Any],
        payments: PaymentsDep,
        read_your_writes: ReadYourWritesDep,
        signature: Annotated[
            str | None,
            HeaderParameter(
                name=SIGNATURE_HEADER,
                required=False,
                description="Stripe's signature of the raw body: t=<unix time>,v1=<hex HMAC>",
            ),
        ] = None,
    ) -> schemas.WebhookOut:
        """A Stripe event, verified against its signature (400 otherwise) and applied once:
        a replayed event answers 200 and changes nothing."""
        payload = await request.body()
        applied = await anyio.to_thread.run_sync(payments.receive, payload, signature)
        # Like every write: answered once the wallet and tier it changed read back.
        await anyio.to_thread.run_sync(
            read_your_writes, request, applied.position, ["inventories", "users"]
        )
        return schemas.WebhookOut(outcome=applied.outcome)


def _subscription(view: SubscriptionView) -> schemas.SubscriptionOut:
    end = view.current_period_end
    return schemas.SubscriptionOut(
        tier=view.tier,
        status=view.status,
        subscription_id=view.subscription_id,
        cancel_at_period_end=view.cancel_at_period_end,
        current_period_end=datetime.fromtimestamp(end, UTC) if end is not None else None,
        entitled_tier=view.entitled_tier,  # type: ignore[arg-type]
        client_secret=view.client_secret,
    )
