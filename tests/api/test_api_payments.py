"""Gem checkouts, subscriptions and the Stripe webhook over HTTP, with the embedded sandbox."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from companion.domain.catalogue import gem_pack

PACK = gem_pack("gems-550")


def test_a_sandbox_checkout_credits_the_pack_at_once(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    answer = client.post("/api/v1/gems/checkout", headers=user, json={"pack_id": PACK.pack_id})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sandbox"] is True
    assert body["checkout_id"].startswith("sandbox_")
    inventory = client.get("/api/v1/inventory", headers=user).json()
    assert inventory["gems"] == PACK.gems
    ledger = client.get("/api/v1/wallet/ledger", headers=user).json()["entries"]
    assert [(e["kind"], e["gems"]) for e in ledger] == [("gem_pack", PACK.gems)]


def test_a_checkout_needs_the_token(client: TestClient[Any]) -> None:
    answer = client.post("/api/v1/gems/checkout", json={"pack_id": PACK.pack_id})
    assert answer.status_code == 401


def test_a_checkout_of_an_unknown_pack_is_not_found(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    answer = client.post("/api/v1/gems/checkout", headers=user, json={"pack_id": "gems-1"})
    assert answer.status_code == 404
    assert answer.json()["extra"]["code"] == "item_not_found"


def test_a_client_cannot_name_its_own_amount(client: TestClient[Any], user: dict[str, str]) -> None:
    answer = client.post(
        "/api/v1/gems/checkout", headers=user, json={"pack_id": PACK.pack_id, "gems": 10**6}
    )
    assert answer.status_code == 422


def test_a_sandbox_subscription_grants_its_tier_until_cancelled_at_period_end(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    started = client.post("/api/v1/subscriptions", headers=user, json={"tier": "premium"})
    assert started.status_code == 200, started.text
    assert (started.json()["status"], started.json()["entitled_tier"]) == ("active", "premium")
    assert client.get("/api/v1/me", headers=user).json()["subscription_tier"] == "premium"

    other = client.post("/api/v1/subscriptions", headers=user, json={"tier": "ultimate"})
    assert (other.status_code, other.json()["extra"]["code"]) == (409, "already_subscribed")

    wrong = client.request(
        "DELETE", "/api/v1/subscriptions", headers=user, json={"tier": "ultimate"}
    )
    assert (wrong.status_code, wrong.json()["extra"]["code"]) == (404, "subscription_not_found")

    cancelled = client.request(
        "DELETE", "/api/v1/subscriptions", headers=user, json={"tier": "premium"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_at_period_end"] is True
    assert cancelled.json()["entitled_tier"] == "premium"
    assert client.get("/api/v1/me", headers=user).json()["subscription_tier"] == "premium"


def test_free_is_not_a_tier_to_subscribe_to(client: TestClient[Any], user: dict[str, str]) -> None:
    answer = client.post("/api/v1/subscriptions", headers=user, json={"tier": "free"})
    assert answer.status_code == 422


def test_the_webhook_is_public_and_refuses_anything_unsigned(client: TestClient[Any]) -> None:
    for headers in ({}, {"Stripe-Signature": "t=1,v1=00"}):
        answer = client.post("/api/v1/webhooks/stripe", content=b'{"id": "evt_1"}', headers=headers)
        assert answer.status_code == 400
        assert answer.json()["extra"]["code"] == "invalid_signature"


def test_the_document_says_the_webhook_is_public_and_signed(client: TestClient[Any]) -> None:
    document = client.get("/schema/openapi.json").json()
    webhook = document["paths"]["/api/v1/webhooks/stripe"]["post"]
    assert webhook["security"] == []
    assert "400" in webhook["responses"]
    assert [p["name"] for p in webhook["parameters"]] == ["Stripe-Signature"]
    checkout = document["paths"]["/api/v1/gems/checkout"]["post"]
    assert checkout["security"] != []


def test_cancelling_needs_no_body(client: TestClient[Any], user: dict[str, str]) -> None:
    client.post("/api/v1/subscriptions", headers=user, json={"tier": "ultimate"})

    cancelled = client.delete("/api/v1/subscriptions", headers=user)

    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["tier"], cancelled.json()["cancel_at_period_end"]) == (
        "ultimate",
        True,
    )
    assert client.get("/api/v1/me", headers=user).json()["subscription_tier"] == "ultimate"


def test_cancelling_without_a_subscription_is_not_found(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    answer = client.delete("/api/v1/subscriptions", headers=user)
    assert (answer.status_code, answer.json()["extra"]["code"]) == (404, "subscription_not_found")


def test_a_sandbox_subscription_credits_its_first_bonus_gems_to_the_ledger(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    client.post("/api/v1/subscriptions", headers=user, json={"tier": "premium"})

    assert client.get("/api/v1/inventory", headers=user).json()["gems"] == 300
    ledger = client.get("/api/v1/wallet/ledger", headers=user).json()["entries"]
    assert [(e["kind"], e["gems"], e["balance"]) for e in ledger] == [
        ("subscription_bonus", 300, 300)
    ]


def test_the_document_says_cancelling_may_leave_the_body_out(client: TestClient[Any]) -> None:
    document = client.get("/schema/openapi.json").json()
    cancel = document["paths"]["/api/v1/subscriptions"]["delete"]
    assert cancel["requestBody"]["required"] is False
    assert "404" in cancel["responses"]
    subscribe = document["paths"]["/api/v1/subscriptions"]["post"]
    assert subscribe["requestBody"]["required"] is True
