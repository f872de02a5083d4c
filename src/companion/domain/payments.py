"""Payments for gem packs, the gateway port, and provider events applied once each.

A Payment follows one provider payment (a Stripe PaymentIntent, a sandbox
checkout) from its creation to success, failure and refunds. Gems move only
when a verified provider event says so; the provider's event id is recorded
as a ProviderEvent in the same atomic save as its effects, so a replayed or
duplicate event conflicts and changes nothing.

A refund may arrive before the payment it refunds (webhooks are not ordered):
it is recorded on the Payment, and settled when the success arrives (the gems
are credited and taken back in the same save).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from companion.domain.catalogue import GemPack
from companion.domain.errors import DomainError, InvalidInput
from companion.domain.identity import COMPANION_NAMESPACE
from companion.domain.limits import MAX_PRICE_YEN, MAX_PROVIDER_ID_CHARS

Provider = Literal["sandbox", "stripe"]
EventKind = Literal[
    "payment_succeeded",
    "payment_failed",
    "payment_refunded",
    "subscription_changed",
    "subscription_deleted",
    "invoice_paid",
    "ignored",
]
Outcome = Literal["applied", "duplicate", "ignored", "rejected"]
PAID_TIERS = ("premium", "ultimate")


class InvalidSignature(DomainError):
    """A webhook whose signature is missing, forged or too old: it changes nothing."""

    code = "invalid_signature"


class GatewayUnavailable(DomainError):
    """The payment provider could not be reached or refused the call; try again later."""

    code = "payments_unavailable"


def check_provider_id(field_name: str, value: object) -> str:
    """A provider's id (pi_…, evt_…, sub_…): short printable text, no spaces."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_PROVIDER_ID_CHARS
        or not value.isprintable()
        or any(c.isspace() for c in value)
    ):
        raise InvalidInput(field_name, f"must be an id of 1 to {MAX_PROVIDER_ID_CHARS} characters")
    return value


def check_amount(field_name: str, yen: object) -> int:
    """Every amount of money is a whole, positive number of yen."""
    if isinstance(yen, bool) or not isinstance(yen, int) or not 1 <= yen <= MAX_PRICE_YEN:
        raise InvalidInput(field_name, f"must be a whole number of yen from 1 to {MAX_PRICE_YEN}")
    return yen


def payment_id(provider: str, provider_payment_id: str) -> UUID:
    """One Payment per provider payment."""
    return uuid5(COMPANION_NAMESPACE, f"payment:{provider}:{provider_payment_id}")


def provider_event_id(provider: str, event_id: str) -> UUID:
    """One ProviderEvent per event the provider sent, however often it sends it."""
    return uuid5(COMPANION_NAMESPACE, f"provider-event:{provider}:{event_id}")


# -- what the gateway says ---------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionState:
    """The provider's subscription as one event saw it."""

    subscription_id: str
    status: str
    """The provider's status: active, trialing, past_due, unpaid, canceled, incomplete…"""
    tier: str | None = None
    cancel_at_period_end: bool = False
    current_period_end: int | None = None
    """Unix seconds."""
    customer_id: str | None = None


@dataclass(frozen=True)
class GatewayEvent:
    """One verified event of a payment provider, in the domain's words."""

    provider: Provider
    event_id: str
    kind: EventKind
    type: str
    """The provider's own name of the event, for the record and the logs."""
    created: int = 0
    """When the provider made the event (unix seconds): orders subscription snapshots."""
    provider_payment_id: str | None = None
    amount_yen: int | None = None
    """For a success, the amount received; for a refund, the total refunded so far."""
    reason: str | None = None
    user_id: UUID | None = None
    """The user the event's metadata names: never trusted to say whose it is."""
    subscription: SubscriptionState | None = None
    invoice_id: str | None = None
    """For a paid invoice, the provider's invoice id: its bonus gems are credited once."""
    sandbox: bool = False


@dataclass(frozen=True)
class Checkout:
    """What a client needs to pay a gem pack; the sandbox's has already completed."""

    checkout_id: str
    """The provider's payment id."""
    client_secret: str | None = None
    url: str | None = None
    events: tuple[GatewayEvent, ...] = ()
    """Events the gateway produced at once (the sandbox's completion)."""


@dataclass(frozen=True)
class SubscriptionCheckout:
    """A subscription as the provider answered a start or a cancellation."""

    state: SubscriptionState
    client_secret: str | None = None
    events: tuple[GatewayEvent, ...] = field(default=())


class PaymentGateway(Protocol):
    """A payment provider: checkouts for gem packs, subscriptions for tiers, verified events.

    Calls to the provider raise GatewayUnavailable when it cannot answer;
    `verify` raises InvalidSignature for anything it cannot authenticate.
    """

    provider: Provider

    def checkout(self, *, user_id: UUID, pack: GemPack) -> Checkout: ...

    def create_customer(self, *, user_id: UUID) -> str: ...

    def subscribe(
        self, *, user_id: UUID, customer_id: str | None, tier: str
    ) -> SubscriptionCheckout: ...

    def cancel_at_period_end(
        self, *, user_id: UUID, state: SubscriptionState
    ) -> SubscriptionCheckout: ...

    def verify(self, payload: bytes, signature: str | None) -> GatewayEvent: ...


# -- aggregates --------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    """Gems a payment event moves: credited, and taken back."""

    credit: int = 0
    take_back: int = 0


class Payment(Aggregate):
    """One provider payment for a gem pack; its id follows from the provider's (payment_id)."""

    class Created(Aggregate.Created):
        provider: str
        provider_payment_id: str
        user_id: UUID
        pack_id: str
        gems: int
        amount_yen: int
        sandbox: bool

    class Succeeded(Aggregate.Event):
        event_id: str
        amount_yen: int

    class Failed(Aggregate.Event):
        event_id: str
        reason: str

    class Refunded(Aggregate.Event):
        """The total refunded so far, and the gems it takes back in all."""

        event_id: str
        refunded_yen: int
        gems: int

    @staticmethod
    def create_id(provider: str, provider_payment_id: str) -> UUID:
        return payment_id(provider, provider_payment_id)

    @classmethod
    def start(
        cls, *, provider: str, provider_payment_id: str, user_id: UUID, pack: GemPack, sandbox: bool
    ) -> Payment:
        return cls(
            provider=provider,
            provider_payment_id=check_provider_id("checkout_id", provider_payment_id),
            user_id=user_id,
            pack_id=pack.pack_id,
            gems=pack.gems,
            amount_yen=check_amount("amount_yen", pack.price_yen),
            sandbox=sandbox,
        )

    @event(Created)
    def __init__(
        self,
        provider: str,
        provider_payment_id: str,
        user_id: UUID,
        pack_id: str,
        gems: int,
        amount_yen: int,
        sandbox: bool,
    ) -> None:
        self.provider = provider
        self.provider_payment_id = provider_payment_id
        self.user_id = user_id
        self.pack_id = pack_id
        self.gems = gems
        self.amount_yen = amount_yen
        self.sandbox = sandbox
        self.succeeded = False
        self.failures = 0
        self.refunded_yen = 0
        self.gems_refunded = 0
        """Gems the refunds take back in all, whether or not they were credited yet."""

    @property
    def gems_owed_back(self) -> int:
        """Gems the recorded refunds take back, once the payment has succeeded."""
        return self.gems_refunded if self.succeeded else 0

    def succeed(self, *, event_id: str, amount_yen: int) -> Settlement:
        """The provider received the money: the pack's gems, less any refund recorded before."""
        amount = check_amount("amount_yen", amount_yen)
        if amount != self.amount_yen:
            raise InvalidInput("amount_yen", f"received {amount} yen for {self.amount_yen}")
        if self.succeeded:
            return Settlement()
        self._succeed(event_id=event_id, amount_yen=amount)
        return Settlement(credit=self.gems, take_back=self.gems_refunded)

    @event(Succeeded)
    def _succeed(self, event_id: str, amount_yen: int) -> None:
        self.succeeded = True

    def fail(self, *, event_id: str, reason: str) -> None:
        """An attempt failed; a later attempt may still succeed, an earlier success stands."""
        if not self.succeeded:
            self._fail(event_id=event_id, reason=reason[:200])

    @event(Failed)
    def _fail(self, event_id: str, reason: str) -> None:
        self.failures += 1

    def refund(self, *, event_id: str, refunded_yen: int) -> Settlement:
        """The total refunded so far; the gems it takes back beyond those taken already.

        Gems are taken back in proportion to the money, rounded down. Before the
        success the refund is only recorded (nothing was credited yet).
        """
        total = check_amount("amount_refunded", refunded_yen)
        if total > self.amount_yen:
            raise InvalidInput("amount_refunded", f"{total} yen exceeds the {self.amount_yen} paid")
        if total <= self.refunded_yen:
            return Settlement()  # an older, smaller total arriving late
        gems = self.gems * total // self.amount_yen
        before = self.gems_owed_back
        self._refund(event_id=event_id, refunded_yen=total, gems=gems)
        return Settlement(take_back=self.gems_owed_back - before)

    @event(Refunded)
    def _refund(self, event_id: str, refunded_yen: int, gems: int) -> None:
        self.refunded_yen = refunded_yen
        self.gems_refunded = gems


class ProviderEvent(Aggregate):
    """A provider's event, recorded with its effects so that it is applied once."""

    class Received(Aggregate.Created):
        provider: str
        event_id: str
        type: str
        outcome: str
        detail: str

    @staticmethod
    def create_id(provider: str, event_id: str) -> UUID:
        return provider_event_id(provider, event_id)

    @classmethod
    def record(cls, received: GatewayEvent, outcome: Outcome, detail: str = "") -> ProviderEvent:
        return cls(
            provider=received.provider,
            event_id=received.event_id,
            type=received.type[:100],
            outcome=outcome,
            detail=detail[:200],
        )

    @event(Received)
    def __init__(self, provider: str, event_id: str, type: str, outcome: str, detail: str) -> None:
        self.provider = provider
        self.event_id = event_id
        self.type = type
        self.outcome = outcome
        self.detail = detail
