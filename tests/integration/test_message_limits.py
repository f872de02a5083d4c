"""The chat turn's admission against the message limits, on a real store.

The tier comes from the turn's own read of the store: a tier changed by another
API process counts for the very next message here, though this process keeps
the user in its cache.
"""

from __future__ import annotations

import time
from uuid import UUID, uuid4

import pytest

from companion.adapters.rate_limit import MemoryMessageLimiter
from companion.app.application import CompanionApplication
from companion.app.bootstrap import Companion
from companion.app.message_limits import MessageLimits, RateLimited
from companion.domain.characters import Persona
from companion.domain.payments import GatewayEvent, SubscriptionState
from tests.integration.conftest import Companions
from tests.personas import HANA

START = 1_790_000_000.0


def _pair(app: CompanionApplication) -> tuple[UUID, UUID]:
    user_id = app.register(
        email=f"{uuid4().hex[:8]}@example.com", password="0123456789ab", name="S", nickname="S"
    )
    character_id, _ = app.create_character(user_id=user_id, persona=Persona.parse(**HANA))
    return user_id, character_id


def _end_subscription(companion: Companion, user_id: UUID) -> None:
    """The provider says the paid period is over: the user is free again."""
    subscription = companion.payments.subscription(user_id)
    assert subscription is not None
    assert subscription.provider_subscription_id is not None
    ended = SubscriptionState(
        subscription_id=subscription.provider_subscription_id,
        status="canceled",
        tier=subscription.tier,
    )
    companion.payments.apply(
        GatewayEvent(
            provider="sandbox",
            event_id=f"evt_{uuid4().hex}",
            kind="subscription_deleted",
            type="customer.subscription.deleted",
            created=int(time.time()) + 1,
            user_id=user_id,
            subscription=ended,
            sandbox=True,
        )
    )


@pytest.mark.postgres
@pytest.mark.parametrize("changed_by", ["this process", "another process"])
def test_a_new_tier_counts_for_the_next_message(
    postgres_companions: Companions, changed_by: str
) -> None:
    there = postgres_companions()
    here = (
        there
        if changed_by == "this process"
        else postgres_companions(database_url=there.settings.database_url)
    )
    limits = MessageLimits(here.application, MemoryMessageLimiter(clock=lambda: START))
    user_id, character_id = _pair(there.application)

    def send(text: str) -> None:
        here.application.send_message(
            user_id=user_id, character_id=character_id, text=text, limits=limits
        )

    for n in range(10):  # free: ten a minute; this process now holds the user in its cache
        send(f"free {n}")
    with pytest.raises(RateLimited):
        send("one too many")

    there.payments.subscribe(user_id=user_id, tier="premium")
    for n in range(10):  # premium: thirty a minute, from the next message on
        send(f"premium {n}")

    _end_subscription(there, user_id)
    with pytest.raises(RateLimited):  # twenty this minute: room for premium, not for free
        send("free again")
