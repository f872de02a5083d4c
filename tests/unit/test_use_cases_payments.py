"""Payments on the in-memory unit of work with the sandbox gateway: gems credited once,
to the user who started the checkout or the subscription."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from companion.adapters.payments.sandbox import SandboxGateway
from companion.domain.catalogue import gem_pack
from companion.domain.payments import GatewayEvent, ProviderEvent, SubscriptionCheckout
from companion.domain.wallet import Wallet
from tests.support.fake_uow import FakeCompanion, fake_companion, user_with_character

PACK = gem_pack("gems-550")


def balance(companion: FakeCompanion, user_id: UUID) -> int:
    wallet = companion.commerce.wallet(user_id)
    return 0 if wallet is None else wallet.balance


def credits(companion: FakeCompanion) -> list[Wallet.GemsCredited]:
    return [e for e in companion.uow.saved if isinstance(e, Wallet.GemsCredited)]


def paid(companion: FakeCompanion, user_id: UUID) -> GatewayEvent:
    """A sandbox checkout of the pack, and the success event it completed with."""
    checkout, _ = companion.payments.checkout(user_id=user_id, pack_id=PACK.pack_id)
    (succeeded,) = checkout.events
    assert succeeded.kind == "payment_succeeded"
    return succeeded


def test_a_payment_that_succeeded_credits_the_packs_gems_once() -> None:
    companion = fake_companion()
    user_id, _ = user_with_character(companion)

    paid(companion, user_id)

    assert balance(companion, user_id) == PACK.gems
    (credited,) = credits(companion)
    assert credited.gems == PACK.gems
    (recorded,) = [e for e in companion.uow.saved if isinstance(e, ProviderEvent.Received)]
    assert recorded.outcome == "applied"


def test_the_same_provider_event_again_is_a_duplicate_and_credits_nothing() -> None:
    companion = fake_companion()
    user_id, _ = user_with_character(companion)
    succeeded = paid(companion, user_id)
    stored = len(companion.uow.saved)

    again = companion.payments.apply(succeeded)

    assert again.outcome == "duplicate"
    assert again.position is None
    assert len(companion.uow.saved) == stored
    assert balance(companion, user_id) == PACK.gems


def test_another_success_event_of_the_same_payment_credits_nothing_more() -> None:
    companion = fake_companion()
    user_id, _ = user_with_character(companion)
    succeeded = paid(companion, user_id)

    resent = companion.payments.apply(replace(succeeded, event_id=f"{succeeded.event_id}-resent"))

    # Recorded (so it is not tried again), but the payment had already succeeded.
    assert resent.outcome == "applied"
    assert len(credits(companion)) == 1
    assert balance(companion, user_id) == PACK.gems


class RecordingSandbox(SandboxGateway):
    """The sandbox, keeping the events its last subscription completed with."""

    started: SubscriptionCheckout

    def subscribe(
        self, *, user_id: UUID, customer_id: str | None, tier: str
    ) -> SubscriptionCheckout:
        self.started = super().subscribe(user_id=user_id, customer_id=customer_id, tier=tier)
        return self.started


def subscribed(companion: FakeCompanion, user_id: UUID, tier: str = "premium") -> RecordingSandbox:
    gateway = RecordingSandbox()
    companion.payments.gateway = gateway
    companion.payments.subscribe(user_id=user_id, tier=tier)
    return gateway


def bonuses(companion: FakeCompanion) -> list[Wallet.GemsCredited]:
    return [e for e in credits(companion) if e.kind == "subscription_bonus"]


def test_a_subscription_credits_its_tiers_bonus_once_per_invoice() -> None:
    companion = fake_companion()
    user_id, _ = user_with_character(companion)
    _, invoice = subscribed(companion, user_id, "ultimate").started.events
    assert invoice.kind == "invoice_paid"
    assert balance(companion, user_id) == 1000

    assert companion.payments.apply(invoice).outcome == "duplicate"
    companion.payments.apply(replace(invoice, event_id="sandbox_evt_told_again"))

    assert balance(companion, user_id) == 1000
    (bonus,) = bonuses(companion)
    assert (bonus.gems, bonus.sandbox) == (1000, True)


def test_the_next_periods_invoice_credits_the_bonus_again() -> None:
    companion = fake_companion()
    user_id, _ = user_with_character(companion)
    _, invoice = subscribed(companion, user_id).started.events

    next_period = replace(invoice, event_id="sandbox_evt_next", invoice_id="sandbox_in_next")
    assert companion.payments.apply(next_period).outcome == "applied"

    assert balance(companion, user_id) == 600
    assert [b.gems for b in bonuses(companion)] == [300, 300]


def test_an_event_naming_another_user_is_recorded_as_ignored_and_changes_nothing() -> None:
    companion = fake_companion()
    owner, _ = user_with_character(companion)
    other, _ = user_with_character(companion)
    started, invoice = subscribed(companion, owner).started.events
    stored = len(companion.uow.saved)

    for event in (started, invoice):
        claimed = replace(event, event_id=f"{event.event_id}-claimed", user_id=other)
        applied = companion.payments.apply(claimed)
        assert (applied.outcome, applied.detail) == (
            "ignored",
            "the metadata names another user than the subscription's",
        )

    recorded = companion.uow.saved[stored:]
    assert [type(e) for e in recorded] == [ProviderEvent.Received] * 2
    assert balance(companion, other) == 0
    assert companion.accounts.user(other).tier == "free"


def test_an_event_of_a_subscription_never_requested_is_ignored() -> None:
    companion = fake_companion()
    user_id, _ = user_with_character(companion)
    started, _ = subscribed(companion, user_id).started.events
    assert started.subscription is not None
    stranger = replace(
        started,
        event_id="sandbox_evt_stranger",
        subscription=replace(started.subscription, subscription_id="sandbox_sub_stranger"),
    )

    applied = companion.payments.apply(stranger)

    assert (applied.outcome, applied.detail) == (
        "ignored",
        "a subscription this service did not create",
    )
