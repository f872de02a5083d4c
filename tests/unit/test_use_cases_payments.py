"""Payments on the in-memory unit of work with the sandbox gateway: gems credited once."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from companion.domain.catalogue import gem_pack
from companion.domain.payments import GatewayEvent, ProviderEvent
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
