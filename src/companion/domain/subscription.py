"""A user's subscription to a paid tier, as the payment provider's events tell it.

The tier a user is entitled to follows the subscription's lifecycle: a paid
tier while the subscription is active (or trialing); free once a renewal
fails (past_due, unpaid) until an invoice is paid again, and free when the
subscription ends. A cancellation at period end keeps the tier until the
provider ends the subscription at that date.

Provider events may arrive out of order: each carries the time the provider
made it, and a snapshot older than the last one applied changes nothing,
except the end of the subscription, which is final whenever it arrives.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from companion.domain.errors import DomainError, InvalidInput
from companion.domain.identity import COMPANION_NAMESPACE
from companion.domain.payments import PAID_TIERS, SubscriptionState, check_provider_id

ENTITLED_STATUSES = ("active", "trialing")
"""Provider statuses under which the subscription's tier is granted."""
ENDED_STATUSES = ("canceled", "incomplete_expired")
FREE = "free"


class SubscriptionNotFound(DomainError):
    """No live subscription of that tier to cancel."""

    code = "subscription_not_found"


class AlreadySubscribed(DomainError):
    """A live subscription to another tier: cancel it before subscribing to this one."""

    code = "already_subscribed"


def subscription_id(user_id: UUID) -> UUID:
    """One Subscription aggregate per user (it follows the user's successive subscriptions)."""
    return uuid5(COMPANION_NAMESPACE, f"subscription:{user_id}")


def check_tier(tier: str) -> str:
    if tier not in PAID_TIERS:
        raise InvalidInput("tier", f"must be one of {', '.join(PAID_TIERS)}")
    return tier


class Subscription(Aggregate):
    """The user's current provider subscription, its customer, and the tier it grants."""

    class Opened(Aggregate.Created):
        user_id: UUID

    class CustomerLinked(Aggregate.Event):
        provider: str
        customer_id: str

    class Started(Aggregate.Event):
        subscription_id: str
        tier: str | None
        status: str
        cancel_at_period_end: bool
        current_period_end: int | None
        at: int
        sandbox: bool

    class Updated(Aggregate.Event):
        """The provider's subscription changed: its status, tier, period or cancellation."""

        status: str
        tier: str
        cancel_at_period_end: bool
        current_period_end: int | None
        at: int

    class Renewed(Aggregate.Event):
        """An invoice of the subscription was paid: the next period is granted."""

        current_period_end: int | None
        at: int

    class Cancelled(Aggregate.Event):
        at: int

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return subscription_id(user_id)

    @classmethod
    def open(cls, user_id: UUID) -> Subscription:
        return cls(user_id=user_id)

    @event(Opened)
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.customer_id: str | None = None
        self.provider_subscription_id: str | None = None
        self.tier: str | None = None
        self.status = "none"
        self.cancel_at_period_end = False
        self.current_period_end: int | None = None
        self.last_event_at = 0

    @property
    def live(self) -> bool:
        """A subscription the provider has not ended (it may be past due)."""
        return self.provider_subscription_id is not None and self.status not in (
            *ENDED_STATUSES,
            "none",
        )

    @property
    def entitled_tier(self) -> str:
        if self.tier is not None and self.status in ENTITLED_STATUSES:
            return self.tier
        return FREE

    def link_customer(self, *, provider: str, customer_id: str) -> None:
        if self.customer_id != customer_id:
            self._link_customer(
                provider=provider, customer_id=check_provider_id("customer_id", customer_id)
            )

    @event(CustomerLinked)
    def _link_customer(self, provider: str, customer_id: str) -> None:
        self.customer_id = customer_id

    def observe(self, state: SubscriptionState, *, at: int, sandbox: bool = False) -> bool:
        """The provider's subscription as one event saw it; False when it changes nothing.

        An event about another subscription than the current one starts it only
        when the current one has ended (a late event of an old subscription is
        not allowed to overwrite the new one); if that event says it has ended
        already (its deletion came first), it is recorded as ended, so that its
        older events arriving next change nothing. A snapshot older than the
        last one applied is ignored.
        """
        check_provider_id("subscription_id", state.subscription_id)
        if state.subscription_id != self.provider_subscription_id:
            if self.live:
                return False
            ended = state.status in ENDED_STATUSES
            self._start(
                subscription_id=state.subscription_id,
                tier=state.tier
                if ended and state.tier not in PAID_TIERS
                else check_tier(state.tier or ""),
                status=state.status,
                cancel_at_period_end=state.cancel_at_period_end,
                current_period_end=state.current_period_end,
                at=at,
                sandbox=sandbox,
            )
            return True
        if not self.live:
            return False
        if state.status in ENDED_STATUSES:
            # The end is final, however late its event comes.
            self._cancel(at=max(at, self.last_event_at))
            return True
        if at < self.last_event_at:
            return False
        tier = check_tier(state.tier) if state.tier else (self.tier or "")
        changed = (
            state.status != self.status
            or tier != self.tier
            or state.cancel_at_period_end != self.cancel_at_period_end
            or state.current_period_end != self.current_period_end
            or at > self.last_event_at  # newer: what follows must not be taken for news
        )
        if changed:
            self._update(
                status=state.status,
                tier=tier,
                cancel_at_period_end=state.cancel_at_period_end,
                current_period_end=state.current_period_end,
                at=at,
            )
        return changed

    @event(Started)
    def _start(
        self,
        subscription_id: str,
        tier: str | None,
        status: str,
        cancel_at_period_end: bool,
        current_period_end: int | None,
        at: int,
        sandbox: bool,
    ) -> None:
        self.provider_subscription_id = subscription_id
        self.tier = tier
        self.status = status
        self.cancel_at_period_end = cancel_at_period_end
        self.current_period_end = current_period_end
        self.last_event_at = at

    @event(Updated)
    def _update(
        self,
        status: str,
        tier: str,
        cancel_at_period_end: bool,
        current_period_end: int | None,
        at: int,
    ) -> None:
        self.status = status
        self.tier = tier
        self.cancel_at_period_end = cancel_at_period_end
        self.current_period_end = current_period_end
        self.last_event_at = at

    def renew(
        self,
        *,
        provider_subscription_id: str,
        current_period_end: int | None,
        at: int,
        tier: str | None = None,
    ) -> bool:
        """An invoice of the subscription was paid: active again, until the new end.

        An invoice of a subscription not known yet (its invoice came before its
        creation) starts it, when the invoice names the tier and nothing is live.
        """
        if provider_subscription_id != self.provider_subscription_id:
            if self.live or tier not in PAID_TIERS:
                return False
            return self.observe(
                SubscriptionState(
                    subscription_id=provider_subscription_id,
                    status="active",
                    tier=tier,
                    current_period_end=current_period_end,
                ),
                at=at,
            )
        if not self.live or at < self.last_event_at:
            return False
        ends = [end for end in (current_period_end, self.current_period_end) if end is not None]
        self._renew(current_period_end=max(ends, default=None), at=at)
        return True

    @event(Renewed)
    def _renew(self, current_period_end: int | None, at: int) -> None:
        self.status = "active"
        self.current_period_end = current_period_end
        self.last_event_at = at

    @event(Cancelled)
    def _cancel(self, at: int) -> None:
        self.status = "canceled"
        self.cancel_at_period_end = False
        self.last_event_at = at
