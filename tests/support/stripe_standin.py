"""A local server standing in for api.stripe.com, and webhooks signed as Stripe signs them.

The signature is computed here independently of the SDK:
`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from uuid import uuid4

from litestar.testing import TestClient

SECRET_KEY = "sk_test_standin_0123456789"
WEBHOOK_SECRET = "whsec_standin_secret"
PRICES = {"premium": "price_premium_1", "ultimate": "price_ultimate_1"}


class StandIn(ThreadingHTTPServer):
    """Answers the few Stripe API calls the adapter makes, and remembers them."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[dict[str, Any]] = []
        self.failing = False
        self.counter = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.counter += 1
        n = self.counter
        if self.failing:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": "x",
                }
            }
        if path == "/v1/payment_intents":
            return 200, {
                "id": f"pi_{n}",
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "currency": form["currency"],
                "client_secret": f"pi_{n}_secret_{n}",
                "status": "requires_payment_method",
            }
        if path == "/v1/customers":
            return 200, {"id": f"cus_{n}", "object": "customer"}
        if path.startswith("/v1/subscriptions"):
            sub_id = path.rsplit("/", 1)[1] if path.count("/") == 3 else f"sub_{n}"
            return 200, {
                "id": sub_id,
                "object": "subscription",
                "customer": form.get("customer", "cus_1"),
                "status": "incomplete" if path == "/v1/subscriptions" else "active",
                "cancel_at_period_end": form.get("cancel_at_period_end") == "true",
                "metadata": {"user_id": form.get("metadata[user_id]", "")},
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "object": "subscription_item",
                            "price": {"id": form.get("items[0][price]", PRICES["premium"])},
                            "current_period_end": 1_800_000_000,
                        }
                    ],
                },
                "latest_invoice": {
                    "id": f"in_{n}",
                    "object": "invoice",
                    "confirmation_secret": {"client_secret": f"in_{n}_secret"},
                },
            }
        return 404, {"error": {"type": "invalid_request_error", "message": "no such route"}}


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        self.server.calls.append(
            {
                "method": "POST",
                "path": self.path,
                "form": form,
                "authorization": self.headers.get("Authorization"),
                "idempotency_key": self.headers.get("Idempotency-Key"),
            }
        )
        status, body = self.server.answer("POST", self.path, form)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving() -> Iterator[StandIn]:
    """A stand-in answering on a free local port until the block ends."""
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """Stripe's signature header, as Stripe computes it."""
    timestamp = int(time.time()) if at is None else at
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid4().hex}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


def post_webhook(client: TestClient[Any], payload: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/api/v1/webhooks/stripe", content=payload, headers=headers)


def stripe_overrides(base: str) -> dict[str, Any]:
    return {
        "payments": "stripe",
        "stripe_secret_key": SECRET_KEY,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_price_premium": PRICES["premium"],
        "stripe_price_ultimate": PRICES["ultimate"],
        "stripe_api_base": base,
    }
