"""Stripe's signed subscription and invoice events apply only to what this service created.

Whatever user an event's metadata names, it changes only the subscription this
service created, for the user it created it for and the customer it created it
with; anything else is answered 200, recorded as ignored, and changes nothing.
The bonus gems of a paid invoice are credited once per invoice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.entitlements import entitlements
from companion.domain.payments import ProviderEvent
from tests.support.api import api_settings, sign_up
from tests.support.stripe_standin import (
    PRICES,
    StandIn,
    event_body,
    post_webhook,
    serving,
    sign,
    stripe_overrides,
)

MONTH = 30 * 24 * 3600
PREMIUM_BONUS = entitlements("premium").monthly_bonus_gems


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with serving() as server:
        yield server


@pytest.fixture
def companion(tmp_path: Path, standin: StandIn) -> Iterator[Companion]:
    companion = bootstrap(api_settings(tmp_path, **stripe_overrides(standin.base)))
    yield companion
    companion.close()


@pytest.fixture
def client(companion: Companion) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(companion)) as client:
        yield client


class Subscriber:
    """A signed-up user and the Stripe subscription this service created for them."""

    def __init__(self, client: TestClient[Any], standin: StandIn, tier: str = "premium") -> None:
        self.headers = sign_up(client)
        self.user_id = UUID(client.get("/api/v1/me", headers=self.headers).json()["user_id"])
        started = client.post("/api/v1/subscriptions", headers=self.headers, json={"tier": tier})
        assert started.status_code == 200, started.text
        self.subscription_id: str = started.json()["subscription_id"]
        self.customer_id: str = standin.calls[-1]["form"]["customer"]


def subscription_event(
    event_type: str,
    subscription_id: str,
    *,
    customer: str,
    user_id: UUID,
    status: str = "active",
) -> bytes:
    return event_body(
        event_type,
        {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": False,
            "metadata": {"user_id": str(user_id)},
            "items": {"data": [{"price": {"id": PRICES["premium"]}}]},
        },
    )


def invoice_paid(subscriber: Subscriber, invoice_id: str, period_end: int) -> bytes:
    return event_body(
        "invoice.paid",
        {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscriber.customer_id,
            "parent": {
                "subscription_details": {
                    "subscription": subscriber.subscription_id,
                    "metadata": {"user_id": str(subscriber.user_id)},
                }
            },
            "lines": {
                "data": [
                    {
                        "period": {"start": period_end - MONTH, "end": period_end},
                        "pricing": {"price_details": {"price": PRICES["premium"]}},
                    }
                ]
            },
        },
    )


def deliver(client: TestClient[Any], payload: bytes) -> str:
    answer = post_webhook(client, payload, sign(payload))
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["outcome"]
    return outcome


def tier(client: TestClient[Any], headers: dict[str, str]) -> str:
    value: str = client.get("/api/v1/me", headers=headers).json()["subscription_tier"]
    return value


def gems(client: TestClient[Any], headers: dict[str, str]) -> int:
    value: int = client.get("/api/v1/inventory", headers=headers).json()["gems"]
    return value


def recorded(companion: Companion, payload: bytes) -> ProviderEvent:
    """How the service recorded a delivered event: its outcome, and why."""
    found: ProviderEvent = companion.application.repository.get(
        ProviderEvent.create_id("stripe", json.loads(payload)["id"])
    )
    return found


def test_an_event_of_js_subscription_naming_k_changes_nothing_for_k(
    client: TestClient[Any], companion: Companion, standin: StandIn
) -> None:
    j = Subscriber(client, standin)
    k = sign_up(client)
    k_id = UUID(client.get("/api/v1/me", headers=k).json()["user_id"])
    forged = subscription_event(
        "customer.subscription.created", j.subscription_id, customer=j.customer_id, user_id=k_id
    )

    assert deliver(client, forged) == "ignored"

    assert tier(client, k) == "free"
    assert tier(client, j.headers) == "free"  # an event that names another user is not J's
    record = recorded(companion, forged)
    assert (record.outcome, record.detail) == (
        "ignored",
        "the metadata names another user than the subscription's",
    )
    assert deliver(client, forged) == "duplicate"


def test_an_update_of_a_subscription_this_service_never_created_makes_nobody_premium(
    client: TestClient[Any], companion: Companion, standin: StandIn
) -> None:
    subscriber = Subscriber(client, standin)
    l_headers = sign_up(client)
    l_id = UUID(client.get("/api/v1/me", headers=l_headers).json()["user_id"])
    unknown = f"sub_{uuid4().hex[:12]}"
    for user_id, customer in (
        (l_id, "cus_elsewhere"),
        (subscriber.user_id, subscriber.customer_id),
    ):
        updated = subscription_event(
            "customer.subscription.updated", unknown, customer=customer, user_id=user_id
        )
        assert deliver(client, updated) == "ignored"
        assert recorded(companion, updated).detail == "a subscription this service did not create"

    assert tier(client, l_headers) == "free"
    assert tier(client, subscriber.headers) == "free"


def test_an_event_of_the_subscription_with_another_customer_changes_nothing(
    client: TestClient[Any], companion: Companion, standin: StandIn
) -> None:
    subscriber = Subscriber(client, standin)
    other_customer = subscription_event(
        "customer.subscription.updated",
        subscriber.subscription_id,
        customer="cus_someone_else",
        user_id=subscriber.user_id,
    )

    assert deliver(client, other_customer) == "ignored"

    assert tier(client, subscriber.headers) == "free"
    assert recorded(companion, other_customer).detail == (
        "the customer is not the one the subscription was created for"
    )


def test_the_event_of_the_subscription_it_created_grants_the_tier_to_its_user(
    client: TestClient[Any], standin: StandIn
) -> None:
    subscriber = Subscriber(client, standin)
    active = subscription_event(
        "customer.subscription.updated",
        subscriber.subscription_id,
        customer=subscriber.customer_id,
        user_id=subscriber.user_id,
    )

    assert deliver(client, active) == "applied"

    assert tier(client, subscriber.headers) == "premium"


def test_an_invoice_credits_its_bonus_once_and_each_period_again(
    client: TestClient[Any], standin: StandIn
) -> None:
    subscriber = Subscriber(client, standin)
    end = int(time.time()) + MONTH
    first = invoice_paid(subscriber, "in_first", end)

    assert deliver(client, first) == "applied"
    assert tier(client, subscriber.headers) == "premium"
    assert gems(client, subscriber.headers) == PREMIUM_BONUS
    # Delivered twice, and the same invoice in another event: nothing more.
    assert deliver(client, first) == "duplicate"
    deliver(client, invoice_paid(subscriber, "in_first", end))
    assert gems(client, subscriber.headers) == PREMIUM_BONUS

    assert deliver(client, invoice_paid(subscriber, "in_second", end + MONTH)) == "applied"

    assert gems(client, subscriber.headers) == 2 * PREMIUM_BONUS
    ledger = client.get("/api/v1/wallet/ledger", headers=subscriber.headers).json()["entries"]
    assert sorted((e["kind"], e["gems"], e["balance"]) for e in ledger) == [
        ("subscription_bonus", PREMIUM_BONUS, PREMIUM_BONUS),
        ("subscription_bonus", PREMIUM_BONUS, 2 * PREMIUM_BONUS),
    ]


def test_an_invoice_of_js_subscription_naming_k_credits_nobody(
    client: TestClient[Any], standin: StandIn
) -> None:
    j = Subscriber(client, standin)
    k = sign_up(client)
    k_id = UUID(client.get("/api/v1/me", headers=k).json()["user_id"])
    invoice = invoice_paid(j, "in_forged", int(time.time()) + MONTH)
    forged = invoice.replace(str(j.user_id).encode(), str(k_id).encode())

    assert deliver(client, forged) == "ignored"

    assert (gems(client, k), gems(client, j.headers)) == (0, 0)
    assert (tier(client, k), tier(client, j.headers)) == ("free", "free")
