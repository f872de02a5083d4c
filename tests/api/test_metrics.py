"""GET /metrics: what a scraper with the token reads after requests, turns over REST and the
socket, a fallback, a throttled login, a socket opened and closed; who may not read it.

The instruments are the process's, shared by every app a test process makes, so each
test compares a scrape with the one before what it does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.chat import ChatReply, ChatRequest
from tests.support.api import PASSWORD, api_settings, new_character, sign_up
from tests.support.ws import connect, final_reply, opened, send, whole_turn

TOKEN = "a scraper's long metrics token"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
Labels = frozenset[tuple[str, str]]


class FailingModel:
    """A model whose every call fails as an unreachable server would."""

    name = "failing"

    def reply(self, request: ChatRequest) -> ChatReply:
        raise ConnectionError("the model is gone")


class Scrape:
    """One scrape's samples by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[tuple[str, Labels], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample, labels in self.samples if sample == name]


def scrape(client: TestClient[Any]) -> Scrape:
    answer = client.get("/metrics", headers=SCRAPER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(answer.text)


def served(companion: Companion, **app: Any) -> Iterator[TestClient[Any]]:
    try:
        with TestClient(create_app(companion, **app)) as client:
            yield client
    finally:
        companion.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    settings = api_settings(tmp_path, metrics_token=TOKEN, login_max_failures_per_account=2)
    yield from served(bootstrap(settings))


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[TestClient[Any]]:
    settings = api_settings(tmp_path, metrics_token=TOKEN)
    yield from served(bootstrap(settings, chat_model=FailingModel()))


def test_without_a_token_setting_metrics_answer_as_a_route_that_does_not_exist(
    tmp_path: Path,
) -> None:
    for client in served(bootstrap(api_settings(tmp_path))):
        for headers in ({}, SCRAPER):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 404
            assert answer.json()["extra"] == {"code": "not_found"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not the token"},
        {"Authorization": f"bearer {TOKEN}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN} "},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
    ],
)
def test_a_scraper_without_the_token_is_refused_within_the_error_contract(
    client: TestClient[Any], headers: dict[str, str]
) -> None:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["extra"] == {"code": "unauthorized"}
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "companion_" not in answer.text


def test_a_users_token_does_not_open_the_metrics(client: TestClient[Any]) -> None:
    assert client.get("/metrics", headers=sign_up(client)).status_code == 401


def test_metrics_are_not_in_the_openapi_document(client: TestClient[Any]) -> None:
    assert "/metrics" not in client.get("/schema/openapi.json").json()["paths"]


def test_requests_are_timed_by_route_template_and_status_class(client: TestClient[Any]) -> None:
    user = sign_up(client)
    character = new_character(client, user)
    route = "/api/v1/characters/{character_id}"
    before = scrape(client)
    missing = str(uuid4())
    assert client.get(f"/api/v1/characters/{character}", headers=user).status_code == 200
    assert client.get(f"/api/v1/characters/{character}", headers=user).status_code == 200
    assert client.get(f"/api/v1/characters/{missing}", headers=user).status_code == 404
    after = scrape(client)

    count = "companion_http_request_duration_seconds_count"
    for status, more in (("2xx", 2), ("4xx", 1)):
        labels = {"method": "GET", "route": route, "status": status}
        assert after.value(count, **labels) - before.value(count, **labels) == more
    assert after.value(
        "companion_http_request_duration_seconds_bucket",
        method="GET",
        route=route,
        status="2xx",
        le="+Inf",
    ) == after.value(count, method="GET", route=route, status="2xx")
    assert character not in after.text
    assert missing not in after.text


def test_chat_turns_are_counted_by_transport_and_outcome(client: TestClient[Any]) -> None:
    user = sign_up(client)
    character = new_character(client, user)
    path = f"/api/v1/characters/{character}/messages"
    before = scrape(client)
    body = {"text": "Good morning", "client_message_id": "first"}
    assert client.post(path, headers=user, json=body).status_code == 200
    assert client.post(path, headers=user, json=body).status_code == 200
    stranger = f"/api/v1/characters/{uuid4()}/messages"
    assert client.post(stranger, headers=user, json={"text": "hi"}).status_code == 404
    with connect(client, user) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": character, "text": "And you?"})
        assert final_reply(whole_turn(socket))["fallback"] is False
    after = scrape(client)

    turns = "companion_chat_turns_total"
    for transport, outcome in [
        ("rest", "replied"),
        ("rest", "repeated"),
        ("rest", "rejected"),
        ("ws", "replied"),
    ]:
        labels = {"transport": transport, "outcome": outcome}
        assert after.value(turns, **labels) - before.value(turns, **labels) == 1, labels
    replied = "companion_model_reply_seconds_count"
    assert after.value(replied, outcome="replied") - before.value(replied, outcome="replied") == 2
    # The offline model answers in well under a millisecond: its time is still counted.
    spent = "companion_model_reply_seconds_sum"
    assert after.value(spent, outcome="replied") - before.value(spent, outcome="replied") > 0


def test_a_model_that_fails_is_counted_as_a_fallback_with_its_reason(
    failing: TestClient[Any],
) -> None:
    user = sign_up(failing)
    character = new_character(failing, user)
    before = scrape(failing)
    answer = failing.post(
        f"/api/v1/characters/{character}/messages", headers=user, json={"text": "There?"}
    )
    assert answer.json()["reply"]["fallback"] is True
    with connect(failing, user) as socket:
        opened(socket)
        send(socket, "chat_message", {"character_id": character, "text": "Hello?"})
        assert final_reply(whole_turn(socket))["fallback"] is True
    after = scrape(failing)

    def more(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert more("companion_model_fallbacks_total", reason="unreachable") == 2
    assert more("companion_model_reply_seconds_count", outcome="fallback") == 2
    assert more("companion_model_reply_seconds_count", outcome="replied") == 0
    assert more("companion_chat_turns_total", transport="rest", outcome="fallback") == 1
    assert more("companion_chat_turns_total", transport="ws", outcome="fallback") == 1


def test_a_throttled_login_is_counted_under_its_throttle(client: TestClient[Any]) -> None:
    email = f"{uuid4().hex[:10]}@example.com"
    sign_up(client, email)
    before = scrape(client)
    wrong = {"email": email, "password": "not the password at all"}
    assert [client.post("/api/v1/auth/token", json=wrong).status_code for _ in range(2)] == [
        401,
        401,
    ]
    right = {"email": email, "password": PASSWORD}
    refused = client.post("/api/v1/auth/token", json=right)
    assert refused.status_code == 429
    assert refused.json()["extra"]["code"] == "too_many_attempts"
    after = scrape(client)

    refusals = "companion_throttle_refusals_total"
    assert after.value(refusals, throttle="login") - before.value(refusals, throttle="login") == 1
    assert {"throttle": "login"} in after.labels_of(refusals)


def test_a_refused_sign_up_is_counted_under_its_own_throttle(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, metrics_token=TOKEN, registrations_per_address=1)
    for client in served(bootstrap(settings)):
        sign_up(client)
        before = scrape(client)
        body = {"email": "late@example.com", "password": PASSWORD, "name": "B", "nickname": "B"}
        assert client.post("/api/v1/auth/register", json=body).status_code == 429
        after = scrape(client)
        refusals = "companion_throttle_refusals_total"
        for throttle, more in (("registration", 1), ("login", 0)):
            assert (
                after.value(refusals, throttle=throttle) - before.value(refusals, throttle=throttle)
                == more
            )


def open_sockets(client: TestClient[Any]) -> float:
    return scrape(client).value("companion_websockets_open", route="/api/v1/ws")


def test_an_open_socket_is_counted_until_it_closes(client: TestClient[Any]) -> None:
    user = sign_up(client)
    before = open_sockets(client)
    with connect(client, user) as socket:
        opened(socket)
        assert open_sockets(client) == before + 1
    # The server's side of the socket ends just after the client's.
    deadline = time.monotonic() + 10
    while open_sockets(client) != before:
        assert time.monotonic() < deadline, "the closed socket is still counted"
        time.sleep(0.01)


def test_each_read_models_lag_is_read_from_the_store(tmp_path: Path) -> None:
    companion = bootstrap(
        api_settings(tmp_path, metrics_token=TOKEN, read_your_writes_timeout=0.01)
    )
    for client in served(companion, run_projections=False):
        lag = "companion_projection_lag_events"
        assert {labels["projection"] for labels in scrape(client).labels_of(lag)} == set(
            companion.runner.projections
        )
        sign_up(client)
        behind = scrape(client)
        head = companion.runner.head()
        assert behind.value(lag, projection="users") == head - companion.runner.position("users")
        assert behind.value(lag, projection="users") > 0
        companion.runner.run_once()
        assert all(
            scrape(client).value(lag, projection=name) == 0 for name in companion.runner.projections
        )
