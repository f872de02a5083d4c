"""A user's subscription to a paid tier, as the payment provider's events tell it.

The tier a user is entitled to follows the subscription's lifecycle: a paid
tier while the subscription is active (or trialing); free once a renewal
fails (past_due, unpaid) until an invoice is paid again, and free when the
subscription ends. A cancellation at period end keeps the tier until the
provider ends the subscription at that date.

Provider events may arrive out of order: each carries the time the provider
made it, and a snapshot older than the last one applied changes nothing,
except the end of the subscription, which is final whenever it arrives.

Only a subscription this service created is followed. Creating one records it
twice in one save: on the user's Subscription (`Requested`, which makes it the
current one) and as a SubscriptionOrigin, found from the provider's
subscription id, which names its user and customer. A provider event is
applied to the user its subscription's origin names, never to one its metadata
names; an event about any other subscription changes nothing.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from companion.domain.entitlements import entitlements
from companion.domain.errors import DomainError, InvalidInput
from companion.domain.identity import COMPANION_NAMESPACE
from companion.domain.payments import (
    PAID_TIERS,
    Provider,
    SubscriptionState,
    check_provider_id,
)

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


def subscription_origin_id(provider: str, provider_subscription_id: str) -> UUID:
    """One SubscriptionOrigin per provider subscription this service created."""
    return uuid5(COMPANION_NAMESPACE, f"subscription-origin:{provider}:{provider_subscription_id}")


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

    class Requested(Aggregate.Event):
        """This service created the provider's subscription: it becomes the current one."""

        provider: str
        subscription_id: str
        customer_id: str | None
        tier: str
        status: str
        current_period_end: int | None
        sandbox: bool

    class Started(Aggregate.Event):
        """A subscription first seen in a provider's event (streams written before
        subscriptions were requested here); no longer recorded."""

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

    def request(
        self,
        state: SubscriptionState,
        *,
        provider: Provider,
        tier: str,
        customer_id: str | None,
        sandbox: bool = False,
    ) -> None:
        """Record the subscription the provider created at this service's request.

        It replaces an ended one; while one is live, another is AlreadySubscribed.
        """
        if self.live:
            raise AlreadySubscribed(f"already subscribed to {self.tier}; cancel it first")
        self._request(
            provider=provider,
            subscription_id=check_provider_id("subscription_id", state.subscription_id),
            customer_id=None
            if customer_id is None
            else check_provider_id("customer_id", customer_id),
            tier=check_tier(tier),
            status=state.status,
            current_period_end=state.current_period_end,
            sandbox=sandbox,
        )

    @event(Requested)
    def _request(
        self,
        provider: str,
        subscription_id: str,
        customer_id: str | None,
        tier: str,
        status: str,
        current_period_end: int | None,
        sandbox: bool,
    ) -> None:
        self.provider_subscription_id = subscription_id
        if customer_id is not None:
            self.customer_id = customer_id
        self.tier = tier
        self.status = status
        self.cancel_at_period_end = False
        self.current_period_end = current_period_end
        # Snapshots are ordered within one subscription; the new one starts afresh.
        self.last_event_at = 0

    def observe(self, state: SubscriptionState, *, at: int) -> bool:
        """The provider's subscription as one event saw it; False when it changes nothing.

        Only the current subscription (the one last requested) is followed: an
        event about any other, an older one or one this service never created,
        changes nothing. A snapshot older than the last one applied is ignored.
        """
        check_provider_id("subscription_id", state.subscription_id)
        if state.subscription_id != self.provider_subscription_id:
            return False
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
        self, *, provider_subscription_id: str, current_period_end: int | None, at: int
    ) -> bool:
        """An invoice of the current subscription was paid: active again, until the new end."""
        if provider_subscription_id != self.provider_subscription_id:
            return False
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


class SubscriptionOrigin(Aggregate):
    """A provider subscription this service created: for which user, customer and tier.

    Its id follows from the provider's subscription id (subscription_origin_id),
    so a provider event finds its user from the subscription it is about.
    """

    class Recorded(Aggregate.Created):
        provider: str
        subscription_id: str
        customer_id: str | None
        user_id: UUID
        tier: str
        sandbox: bool

    @staticmethod
    def create_id(provider: str, subscription_id: str) -> UUID:
        return subscription_origin_id(provider, subscription_id)

    @classmethod
    def record(
        cls,
        *,
        provider: Provider,
        subscription_id: str,
        customer_id: str | None,
        user_id: UUID,
        tier: str,
        sandbox: bool,
    ) -> SubscriptionOrigin:
        return cls(
            provider=provider,
            subscription_id=check_provider_id("subscription_id", subscription_id),
            customer_id=None
            if customer_id is None
            else check_provider_id("customer_id", customer_id),
            user_id=user_id,
            tier=check_tier(tier),
            sandbox=sandbox,
        )

    @event(Recorded)
    def __init__(
        self,
        provider: str,
        subscription_id: str,
        customer_id: str | None,
        user_id: UUID,
        tier: str,
        sandbox: bool,
    ) -> None:
        self.provider = provider
        self.subscription_id = subscription_id
        self.customer_id = customer_id
        self.user_id = user_id
        self.tier = tier
        self.sandbox = sandbox

    def bonus_gems(self, invoiced_tier: str | None) -> int:
        """The gems one paid invoice of this subscription brings: its tier's monthly bonus.

        The tier is the one the invoice's price names, else the one it was created for.
        """
        tier = invoiced_tier if invoiced_tier in PAID_TIERS else self.tier
        return entitlements(tier).monthly_bonus_gems


def distrust(
    origin: SubscriptionOrigin | None, state: SubscriptionState, *, named_user: UUID | None
) -> str:
    """Why a provider event about a subscription must change nothing; "" when it may apply.

    It may only when this service created the subscription (it has an origin),
    the event's customer is the one it was created for, and the user the
    event's metadata names, if any, is the one it was created for. The user it
    applies to is always the origin's.
    """
    if origin is None:
        return "a subscription this service did not create"
    if state.customer_id != origin.customer_id:
        return "the customer is not the one the subscription was created for"
    if named_user is not None and named_user != origin.user_id:
        return "the metadata names another user than the subscription's"
    return ""


def bonus_reference(provider: str, invoice_id: str) -> str:
    """The wallet reference of an invoice's bonus gems: one credit per paid invoice."""
    return f"{provider}:invoice:{invoice_id}"
