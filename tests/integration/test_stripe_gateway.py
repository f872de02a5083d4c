"""The Stripe adapter with the real SDK, against a local server standing in for api.stripe.com.

Webhooks are signed with Stripe's scheme, computed independently of the SDK
(tests/support/stripe_standin.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from companion.adapters.payments.stripe_gateway import StripeGateway
from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.app.settings import Settings, SettingsError
from companion.domain.catalogue import gem_pack
from companion.domain.payments import GatewayUnavailable, InvalidSignature
from tests.support.api import api_settings, sign_up
from tests.support.stripe_standin import (
    PRICES,
    SECRET_KEY,
    WEBHOOK_SECRET,
    StandIn,
    event_body,
    post_webhook,
    serving,
    sign,
    stripe_overrides,
)

PACK = gem_pack("gems-100")


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with serving() as server:
        yield server


@pytest.fixture
def gateway(standin: StandIn) -> StripeGateway:
    return StripeGateway(
        secret_key=SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        prices=PRICES,
        api_base=standin.base,
        max_network_retries=0,
    )


def succeeded(payment_intent: str, amount: int = PACK.price_yen) -> bytes:
    return event_body(
        "payment_intent.succeeded",
        {
            "id": payment_intent,
            "object": "payment_intent",
            "amount": PACK.price_yen,
            "amount_received": amount,
            "currency": "jpy",
        },
    )


def refunded(payment_intent: str, total: int = PACK.price_yen) -> bytes:
    return event_body(
        "charge.refunded",
        {
            "id": f"ch_{uuid4().hex[:8]}",
            "object": "charge",
            "payment_intent": payment_intent,
            "amount": PACK.price_yen,
            "amount_refunded": total,
            "currency": "jpy",
        },
    )


# -- the SDK's calls -----------------------------------------------------------------


def test_a_checkout_is_a_payment_intent_in_yen_at_the_packs_price(
    gateway: StripeGateway, standin: StandIn
) -> None:
    user_id = uuid4()
    checkout = gateway.checkout(user_id=user_id, pack=PACK)
    assert checkout.client_secret == f"{checkout.checkout_id}_secret_1"
    assert checkout.events == ()  # the gems wait for the webhook
    [call] = standin.calls
    assert call["path"] == "/v1/payment_intents"
    assert call["authorization"] == f"Bearer {SECRET_KEY}"
    assert call["form"]["amount"] == str(PACK.price_yen)
    assert call["form"]["currency"] == "jpy"
    assert call["form"]["metadata[user_id]"] == str(user_id)


def test_a_subscription_is_a_customer_and_a_subscription_at_the_tiers_price(
    gateway: StripeGateway, standin: StandIn
) -> None:
    user_id = uuid4()
    customer = gateway.create_customer(user_id=user_id)
    started = gateway.subscribe(user_id=user_id, customer_id=customer, tier="ultimate")
    customers, subscriptions = standin.calls
    assert customers["path"] == "/v1/customers"
    assert customers["idempotency_key"] == f"customer-{user_id}"
    assert subscriptions["form"]["customer"] == customer
    assert subscriptions["form"]["items[0][price]"] == PRICES["ultimate"]
    assert subscriptions["form"]["payment_behavior"] == "default_incomplete"
    assert started.state.tier == "ultimate"
    assert started.state.status == "incomplete"
    assert started.client_secret is not None


def test_cancelling_asks_stripe_to_cancel_at_period_end(
    gateway: StripeGateway, standin: StandIn
) -> None:
    started = gateway.subscribe(user_id=uuid4(), customer_id="cus_9", tier="premium")
    cancelled = gateway.cancel_at_period_end(user_id=uuid4(), state=started.state)
    call = standin.calls[-1]
    assert call["path"] == f"/v1/subscriptions/{started.state.subscription_id}"
    assert call["form"] == {"cancel_at_period_end": "true"}
    assert cancelled.state.cancel_at_period_end


def test_a_refusal_by_stripe_is_unavailable_and_never_shows_the_key(
    gateway: StripeGateway, standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    standin.failing = True
    with pytest.raises(GatewayUnavailable) as refused:
        gateway.checkout(user_id=uuid4(), pack=PACK)
    captured = capsys.readouterr()
    assert SECRET_KEY not in str(refused.value)
    assert SECRET_KEY not in captured.out + captured.err


# -- webhooks ------------------------------------------------------------------------


def test_a_webhook_signed_with_the_secret_is_verified_by_the_sdk(gateway: StripeGateway) -> None:
    payload = succeeded("pi_1")
    received = gateway.verify(payload, sign(payload))
    assert (received.kind, received.provider_payment_id, received.amount_yen) == (
        "payment_succeeded",
        "pi_1",
        PACK.price_yen,
    )
    assert received.event_id == json.loads(payload)["id"]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p: sign(p, secret="whsec_someone_else"), id="another secret"),
        pytest.param(lambda p: sign(p, at=int(time.time()) - 301), id="stale"),
        pytest.param(lambda p: sign(p + b" "), id="another body"),
        pytest.param(lambda p: sign(p).replace("v1=", "v0="), id="another scheme"),
        pytest.param(lambda p: "t=abc,v1=00", id="garbage"),
        pytest.param(lambda p: "", id="empty"),
        pytest.param(lambda p: None, id="missing"),
    ],
)
def test_a_forged_or_stale_signature_is_refused(gateway: StripeGateway, forge: Any) -> None:
    payload = succeeded("pi_1")
    with pytest.raises(InvalidSignature):
        gateway.verify(payload, forge(payload))


def test_a_signed_body_that_is_not_an_event_is_refused(gateway: StripeGateway) -> None:
    for payload in (b"not json", b"[1, 2]", b"\xff\xfe"):
        with pytest.raises(InvalidSignature):
            gateway.verify(payload, sign(payload))


# -- the whole story, through the API --------------------------------------------------


@pytest.fixture
def stripe_companion(tmp_path: Path, standin: StandIn) -> Iterator[Companion]:
    companion = bootstrap(stripe_settings(tmp_path, standin.base))
    yield companion
    companion.close()


def stripe_settings(tmp_path: Path, base: str, **overrides: Any) -> Settings:
    return api_settings(tmp_path, **{**stripe_overrides(base), **overrides})


@pytest.mark.parametrize(
    "missing",
    ["stripe_secret_key", "stripe_webhook_secret", "stripe_price_premium", "stripe_price_ultimate"],
)
def test_stripe_without_a_setting_it_needs_does_not_start(tmp_path: Path, missing: str) -> None:
    with pytest.raises(
        SettingsError, match=missing.upper().replace("STRIPE_PRICE", "STRIPE_PRICE")
    ):
        bootstrap(stripe_settings(tmp_path, "http://127.0.0.1:9", **{missing: None}))


def gems(client: TestClient[Any], headers: dict[str, str]) -> int:
    answer = client.get("/api/v1/inventory", headers=headers)
    assert answer.status_code == 200, answer.text
    value: int = answer.json()["gems"]
    return value


def test_gems_come_only_with_the_signed_webhook_once(
    stripe_companion: Companion, standin: StandIn
) -> None:
    with TestClient(create_app(stripe_companion)) as client:
        user = sign_up(client)
        checkout = client.post(
            "/api/v1/gems/checkout", headers=user, json={"pack_id": PACK.pack_id}
        )
        assert checkout.status_code == 200, checkout.text
        answer = checkout.json()
        assert answer["client_secret"].startswith(answer["checkout_id"])
        assert answer["sandbox"] is False
        assert gems(client, user) == 0

        paid = succeeded(answer["checkout_id"])
        forged = post_webhook(client, paid, sign(paid, secret="whsec_forged"))
        assert forged.status_code == 400
        assert forged.json()["extra"]["code"] == "invalid_signature"
        stale = post_webhook(client, paid, sign(paid, at=int(time.time()) - 3600))
        assert stale.status_code == 400
        assert post_webhook(client, paid, None).status_code == 400
        assert gems(client, user) == 0

        first = post_webhook(client, paid, sign(paid))
        assert first.status_code == 200, first.text
        assert first.json()["outcome"] == "applied"
        assert gems(client, user) == PACK.gems
        replayed = post_webhook(client, paid, sign(paid))
        assert (replayed.status_code, replayed.json()["outcome"]) == (200, "duplicate")
        assert gems(client, user) == PACK.gems

        refund = refunded(answer["checkout_id"])
        assert post_webhook(client, refund, sign(refund)).json()["outcome"] == "applied"
        assert gems(client, user) == 0


def test_a_refund_webhook_before_its_payment_is_settled_when_it_comes(
    stripe_companion: Companion,
) -> None:
    with TestClient(create_app(stripe_companion)) as client:
        user = sign_up(client)
        checkout_id = client.post(
            "/api/v1/gems/checkout", headers=user, json={"pack_id": PACK.pack_id}
        ).json()["checkout_id"]
        refund = refunded(checkout_id)
        assert post_webhook(client, refund, sign(refund)).status_code == 200
        paid = succeeded(checkout_id)
        assert post_webhook(client, paid, sign(paid)).status_code == 200
        inventory = client.get("/api/v1/inventory", headers=user).json()
        assert (inventory["gems"], inventory["owed"]) == (0, 0)


@pytest.mark.parametrize("amount", [0, -200])
def test_a_signed_webhook_with_zero_or_negative_amounts_changes_nothing(
    stripe_companion: Companion, amount: int
) -> None:
    with TestClient(create_app(stripe_companion)) as client:
        user = sign_up(client)
        checkout_id = client.post(
            "/api/v1/gems/checkout", headers=user, json={"pack_id": PACK.pack_id}
        ).json()["checkout_id"]
        paid = succeeded(checkout_id, amount)
        answer = post_webhook(client, paid, sign(paid))
        assert (answer.status_code, answer.json()["outcome"]) == (200, "rejected")
        assert gems(client, user) == 0


def test_a_signed_event_of_another_type_is_answered_200_and_ignored(
    stripe_companion: Companion,
) -> None:
    with TestClient(create_app(stripe_companion)) as client:
        other = event_body("product.created", {"id": "prod_1", "object": "product"})
        answer = post_webhook(client, other, sign(other))
        assert (answer.status_code, answer.json()["outcome"]) == (200, "ignored")


def test_a_subscription_through_stripe_grants_the_tier_when_its_webhook_says_so(
    stripe_companion: Companion, standin: StandIn
) -> None:
    with TestClient(create_app(stripe_companion)) as client:
        user = sign_up(client)
        started = client.post("/api/v1/subscriptions", headers=user, json={"tier": "premium"})
        assert started.status_code == 200, started.text
        body = started.json()
        assert (body["status"], body["entitled_tier"]) == ("incomplete", "free")
        assert body["client_secret"]
        me = client.get("/api/v1/me", headers=user).json()
        assert me["subscription_tier"] == "free"
        user_id = UUID(me["user_id"])
        active = event_body(
            "customer.subscription.updated",
            {
                "id": body["subscription_id"],
                "object": "subscription",
                "customer": "cus_1",
                "status": "active",
                "cancel_at_period_end": False,
                "metadata": {"user_id": str(user_id)},
                "items": {"data": [{"price": {"id": PRICES["premium"]}}]},
            },
        )
        assert post_webhook(client, active, sign(active)).json()["outcome"] == "applied"
        assert stripe_companion.accounts.user(user_id).tier == "premium"
        cancelled = client.request(
            "DELETE", "/api/v1/subscriptions", headers=user, json={"tier": "premium"}
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["cancel_at_period_end"] is True
        assert standin.calls[-1]["form"] == {"cancel_at_period_end": "true"}


# -- concurrent deliveries, on the real PostgreSQL ------------------------------------------


def test_the_same_event_delivered_at_once_to_two_processes_is_applied_once(
    postgres_companions: Any, standin: StandIn
) -> None:
    """Stripe may deliver an event twice at the same moment, to two API processes."""
    first = postgres_companions(**stripe_overrides(standin.base))
    second = bootstrap(first.settings)
    try:
        user_id = first.accounts.register(
            email="pay@example.com", password="correct horse battery", name="P", nickname="P"
        )
        checkout, _ = first.payments.checkout(user_id=user_id, pack_id=PACK.pack_id)
        paid = succeeded(checkout.checkout_id)
        signature = sign(paid)
        outcomes: list[str] = []
        start = threading.Barrier(8)

        def deliver(companion: Companion) -> None:
            start.wait()
            outcomes.append(companion.payments.receive(paid, signature).outcome)

        threads = [
            threading.Thread(target=deliver, args=(first if n % 2 else second,)) for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["applied"] + ["duplicate"] * 7
        wallet = second.commerce.wallet(user_id)
        assert wallet is not None
        assert wallet.balance == PACK.gems
    finally:
        second.close()
