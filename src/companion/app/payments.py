"""Use cases of payments: gem-pack checkouts, subscriptions, and the provider's events.

Gems are credited only here, from an event the gateway verified (a signed
Stripe webhook) or produced itself (the sandbox's local completion): both go
through `apply`, which records the provider's event id in the same atomic save
as its effects, so each event is applied once.

A provider event is trusted only about what this service created: a payment
it started, a subscription it requested. Its effects go to the user who
started it, whatever user the event's metadata names; anything else is
recorded as ignored, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate

from companion.app.accounts import known_user
from companion.app.unit_of_work import UnitOfWork
from companion.domain.catalogue import gem_pack
from companion.domain.errors import DomainError
from companion.domain.identity import wallet_id
from companion.domain.payments import (
    Checkout,
    GatewayEvent,
    Outcome,
    Payment,
    PaymentGateway,
    ProviderEvent,
    SubscriptionState,
    payment_id,
    provider_event_id,
)
from companion.domain.subscription import (
    AlreadySubscribed,
    Subscription,
    SubscriptionNotFound,
    SubscriptionOrigin,
    bonus_reference,
    check_tier,
    distrust,
    subscription_id,
    subscription_origin_id,
)
from companion.domain.users import User
from companion.domain.wallet import Wallet

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Applied:
    """What became of a provider event; `detail` says why one was ignored or rejected."""

    outcome: Outcome
    position: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as the API answers it."""

    tier: str
    status: str
    subscription_id: str | None
    cancel_at_period_end: bool
    current_period_end: int | None
    entitled_tier: str
    client_secret: str | None = None


class Payments:
    """Payments over the unit of work that stores their events, through one gateway."""

    def __init__(self, uow: UnitOfWork, gateway: PaymentGateway) -> None:
        self.uow = uow
        self.gateway = gateway

    @property
    def sandbox(self) -> bool:
        return self.gateway.provider == "sandbox"

    # -- gem packs ---------------------------------------------------------------

    def checkout(self, *, user_id: UUID, pack_id: str) -> tuple[Checkout, int | None]:
        """Start paying a gem pack; the gems come with the provider's success event."""
        known_user(self.uow, user_id)
        pack = gem_pack(pack_id)
        checkout = self.gateway.checkout(user_id=user_id, pack=pack)
        payment = Payment.start(
            provider=self.gateway.provider,
            provider_payment_id=checkout.checkout_id,
            user_id=user_id,
            pack=pack,
            sandbox=self.sandbox,
        )
        position = self.uow.save(payment)
        log.info(
            "payment.created",
            user_id=str(user_id),
            pack_id=pack.pack_id,
            provider=self.gateway.provider,
        )
        for completed in checkout.events:
            position = self.apply(completed).position or position
        return checkout, position

    # -- subscriptions -----------------------------------------------------------

    def subscription(self, user_id: UUID) -> Subscription | None:
        return self.uow.find(Subscription, subscription_id(user_id), to_change=False)

    def subscribe(self, *, user_id: UUID, tier: str) -> tuple[SubscriptionView, int | None]:
        """Start a subscription to a paid tier; the tier changes when the provider says it is paid.

        Subscribing again to the tier already subscribed answers that subscription;
        to another tier while one is live is AlreadySubscribed (cancel first).
        """
        tier = check_tier(tier)
        known_user(self.uow, user_id)
        current = self.subscription(user_id)
        if current is not None and current.live:
            if current.tier != tier:
                raise AlreadySubscribed(f"already subscribed to {current.tier}; cancel it first")
            return _view(current), None
        position = None
        customer_id = current.customer_id if current is not None else None
        if customer_id is None and not self.sandbox:
            customer_id = self.gateway.create_customer(user_id=user_id)
            position = self._link_customer(user_id, customer_id)
        started = self.gateway.subscribe(user_id=user_id, customer_id=customer_id, tier=tier)
        position = self._record_request(user_id, tier, started.state, customer_id) or position
        for produced in started.events:
            position = self.apply(produced).position or position
        log.info("subscription.requested", user_id=str(user_id), tier=tier)
        stored = self.subscription(user_id)
        if stored is not None and stored.provider_subscription_id == started.state.subscription_id:
            return _view(stored, client_secret=started.client_secret), position
        return _state_view(started.state, tier, client_secret=started.client_secret), position

    def cancel(
        self, *, user_id: UUID, tier: str | None = None
    ) -> tuple[SubscriptionView, int | None]:
        """Cancel the live subscription at the end of its paid period (the tier stays until
        the provider ends it). A tier, when named, must be the live subscription's."""
        tier = None if tier is None else check_tier(tier)
        known_user(self.uow, user_id)
        current = self.subscription(user_id)
        if current is None or not current.live or tier not in (None, current.tier):
            raise SubscriptionNotFound(f"no live {tier or 'paid'} subscription")
        tier = current.tier or ""
        assert current.provider_subscription_id is not None
        state = SubscriptionState(
            subscription_id=current.provider_subscription_id,
            status=current.status,
            tier=current.tier,
            cancel_at_period_end=current.cancel_at_period_end,
            current_period_end=current.current_period_end,
            customer_id=current.customer_id,
        )
        cancelled = self.gateway.cancel_at_period_end(user_id=user_id, state=state)
        position = None
        for produced in cancelled.events:
            position = self.apply(produced).position or position
        log.info("subscription.cancel_requested", user_id=str(user_id), tier=tier)
        stored = self.subscription(user_id)
        if stored is not None and stored.cancel_at_period_end:
            return _view(stored), position
        return _state_view(cancelled.state, tier), position

    def _record_request(
        self, user_id: UUID, tier: str, state: SubscriptionState, customer_id: str | None
    ) -> int | None:
        """Record the subscription the provider created for the user, and where it came from,
        in one save: the provider's events about it are trusted from then on."""
        customer_id = state.customer_id or customer_id

        def save() -> int | None:
            subscription = self._subscription_to_change(user_id)
            subscription.request(
                state,
                provider=self.gateway.provider,
                tier=tier,
                customer_id=customer_id,
                sandbox=self.sandbox,
            )
            origin = SubscriptionOrigin.record(
                provider=self.gateway.provider,
                subscription_id=state.subscription_id,
                customer_id=customer_id,
                user_id=user_id,
                tier=tier,
                sandbox=self.sandbox,
            )
            user = self.uow.load(User, user_id)
            if not user.forgotten:
                user.change_tier(subscription.entitled_tier)
            return self.uow.save(subscription, origin, user)

        return self.uow.retry(save)

    def _link_customer(self, user_id: UUID, customer_id: str) -> int | None:
        def save() -> int | None:
            subscription = self._subscription_to_change(user_id)
            subscription.link_customer(provider=self.gateway.provider, customer_id=customer_id)
            return self.uow.save(subscription)

        return self.uow.retry(save)

    def _subscription_to_change(self, user_id: UUID) -> Subscription:
        return self.uow.find(Subscription, subscription_id(user_id)) or Subscription.open(user_id)

    # -- provider events -----------------------------------------------------------

    def receive(self, payload: bytes, signature: str | None) -> Applied:
        """A webhook: verified by the gateway (InvalidSignature otherwise), then applied once."""
        return self.apply(self.gateway.verify(payload, signature))

    def apply(self, received: GatewayEvent) -> Applied:
        """Apply a verified provider event once: a duplicate, now or later, changes nothing.

        An event that breaks a rule (an amount that is not the price, zero or
        negative) is recorded as rejected, so that it is not tried again, and
        logged; one of a type not handled, or about a payment or subscription
        this service did not create, is recorded as ignored, with its reason.
        """
        marker = provider_event_id(received.provider, received.event_id)

        def attempt() -> Applied:
            if self._exists(marker):
                return Applied("duplicate")
            try:
                changed, outcome, detail = self._effects(received)
            except DomainError as refused:
                changed, outcome, detail = [], "rejected", f"{refused.code}: {refused.detail}"
            record = ProviderEvent.record(received, outcome, detail)
            return Applied(outcome, self.uow.save(record, *changed), detail)

        applied = self.uow.retry(attempt)
        level = log.warning if applied.outcome == "rejected" else log.info
        level(
            "payment.event",
            provider=received.provider,
            event_type=received.type,
            event_id=received.event_id,
            outcome=applied.outcome,
            detail=applied.detail or None,
            sandbox=received.sandbox,
        )
        return applied

    def _exists(self, marker: UUID) -> bool:
        return self.uow.find(ProviderEvent, marker) is not None

    def _effects(self, received: GatewayEvent) -> tuple[list[Aggregate], Outcome, str]:
        if received.kind in ("payment_succeeded", "payment_failed", "payment_refunded"):
            return self._payment_effects(received)
        if received.kind in ("subscription_changed", "subscription_deleted", "invoice_paid"):
            return self._subscription_effects(received)
        return [], "ignored", "not a type this service handles"

    def _payment_effects(self, received: GatewayEvent) -> tuple[list[Aggregate], Outcome, str]:
        if received.provider_payment_id is None:
            return [], "ignored", "no payment id"
        payment = self.uow.find(
            Payment, payment_id(received.provider, received.provider_payment_id)
        )
        if payment is None:
            # Every checkout records its Payment before the client can pay, so a
            # payment unknown here was not made through this service.
            return [], "ignored", "a payment this service did not create"
        if received.kind == "payment_failed":
            payment.fail(event_id=received.event_id, reason=received.reason or "failed")
            return [payment], "applied", ""
        amount = received.amount_yen if received.amount_yen is not None else 0
        if received.kind == "payment_succeeded":
            settlement = payment.succeed(event_id=received.event_id, amount_yen=amount)
        else:
            settlement = payment.refund(event_id=received.event_id, refunded_yen=amount)
        changed: list[Aggregate] = [payment]
        if settlement.credit or settlement.take_back:
            wallet = self._wallet_to_change(payment.user_id)
            reference = f"{payment.provider}:{payment.provider_payment_id}"
            if settlement.credit:
                wallet.credit(
                    settlement.credit, kind="gem_pack", reference=reference, sandbox=payment.sandbox
                )
            if settlement.take_back:
                wallet.take_back(
                    settlement.take_back,
                    reference=f"{reference}:refund:{payment.refunded_yen}",
                )
            changed.append(wallet)
        return changed, "applied", ""

    def _wallet_to_change(self, user_id: UUID) -> Wallet:
        return self.uow.find(Wallet, wallet_id(user_id)) or Wallet.open(user_id)

    def _subscription_effects(self, received: GatewayEvent) -> tuple[list[Aggregate], Outcome, str]:
        state = received.subscription
        if state is None:
            return [], "ignored", "no subscription in the event"
        origin = self.uow.find(
            SubscriptionOrigin,
            subscription_origin_id(received.provider, state.subscription_id),
            to_change=False,
        )
        reason = distrust(origin, state, named_user=received.user_id)
        if reason or origin is None:
            return [], "ignored", reason
        user = self.uow.find(User, origin.user_id)
        if user is None:
            return [], "ignored", "no such user"
        subscription = self._subscription_to_change(origin.user_id)
        changed_aggregates: list[Aggregate] = [subscription, user]
        if received.kind == "invoice_paid":
            changed = subscription.renew(
                provider_subscription_id=state.subscription_id,
                current_period_end=state.current_period_end,
                at=received.created,
            )
            wallet = self._wallet_to_change(origin.user_id)
            if self._credit_bonus(wallet, origin, received):
                changed = True
                changed_aggregates.append(wallet)
        elif received.kind == "subscription_deleted":
            changed = subscription.observe(replace(state, status="canceled"), at=received.created)
        else:
            changed = subscription.observe(state, at=received.created)
        if not user.forgotten:
            user.change_tier(subscription.entitled_tier)
        outcome: Outcome = "applied" if changed else "ignored"
        return changed_aggregates, outcome, "" if changed else "stale or not current"

    @staticmethod
    def _credit_bonus(wallet: Wallet, origin: SubscriptionOrigin, received: GatewayEvent) -> bool:
        """The bonus gems of a paid invoice, once per invoice however often it is told."""
        state = received.subscription
        gems = origin.bonus_gems(state.tier if state is not None else None)
        if received.invoice_id is None or gems == 0:
            return False
        return wallet.credit(
            gems,
            kind="subscription_bonus",
            reference=bonus_reference(received.provider, received.invoice_id),
            sandbox=received.sandbox,
        )


def _view(subscription: Subscription, *, client_secret: str | None = None) -> SubscriptionView:
    return SubscriptionView(
        tier=subscription.tier or "free",
        status=subscription.status,
        subscription_id=subscription.provider_subscription_id,
        cancel_at_period_end=subscription.cancel_at_period_end,
        current_period_end=subscription.current_period_end,
        entitled_tier=subscription.entitled_tier,
        client_secret=client_secret,
    )


def _state_view(
    state: SubscriptionState, tier: str, *, client_secret: str | None = None
) -> SubscriptionView:
    return SubscriptionView(
        tier=tier,
        status=state.status,
        subscription_id=state.subscription_id,
        cancel_at_period_end=state.cancel_at_period_end,
        current_period_end=state.current_period_end,
        entitled_tier="free" if state.status not in ("active", "trialing") else tier,
        client_secret=client_secret,
    )
