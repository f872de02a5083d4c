"""Wrong current passwords, sign-ups and checkouts are throttled: in one process, and across
processes sharing Redis (the first app and the second then count together)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from companion.domain.catalogue import gem_pack
from tests.support.api import PASSWORD, api_settings, sign_up

NEW_PASSWORD = "another long passphrase"
PACK = gem_pack("gems-550")
LIMITS = {
    "password_change_max_failures_per_account": 5,
    "registrations_per_address": 3,
    "checkouts_per_account": 3,
    "checkouts_per_address": 5,
}


@pytest.fixture(params=["one process", pytest.param("two over redis", marks=pytest.mark.redis)])
def apps(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[TestClient[Any]]]:
    """Two clients: of one app, or of two apps on one store sharing Redis."""
    if request.param == "one process":
        companion = bootstrap(api_settings(tmp_path, **LIMITS))
        with TestClient(create_app(companion)) as client:
            yield [client, client]
        return
    settings = api_settings(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/events.db",
        redis_url=request.getfixturevalue("redis_url"),
        projection_poll_interval=0.02,
        **LIMITS,
    )
    with ExitStack() as stack:
        yield [
            stack.enter_context(TestClient(create_app(bootstrap(settings), run_projections=n == 0)))
            for n in range(2)
        ]


def assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["extra"]["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


def change_password(client: TestClient[Any], headers: dict[str, str], current: str) -> Any:
    body = {"current_password": current, "new_password": NEW_PASSWORD}
    return client.put("/api/v1/me/password", headers=headers, json=body)


def test_wrong_current_passwords_are_throttled_even_for_the_right_one(
    apps: list[TestClient[Any]],
) -> None:
    headers = sign_up(apps[0], "guess@example.com")

    wrong = [
        change_password(c, headers, "not the password!") for c, _ in zip(cycle(apps), range(5))
    ]
    assert [answer.status_code for answer in wrong] == [401] * 5

    assert_rate_limited(change_password(apps[1], headers, "not the password!"))
    assert_rate_limited(change_password(apps[0], headers, PASSWORD))
    login = {"email": "guess@example.com", "password": PASSWORD}
    assert apps[1].post("/api/v1/auth/token", json=login).status_code == 200


def test_the_right_current_password_clears_the_accounts_failures(
    apps: list[TestClient[Any]],
) -> None:
    headers = sign_up(apps[0], "forgetful@example.com")
    for client, _ in zip(cycle(apps), range(4)):
        assert change_password(client, headers, "not the password!").status_code == 401
    assert change_password(apps[1], headers, PASSWORD).status_code == 204
    login = {"email": "forgetful@example.com", "password": NEW_PASSWORD}
    token = apps[0].post("/api/v1/auth/token", json=login).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    wrong = [
        change_password(c, headers, "not the password!") for c, _ in zip(cycle(apps), range(5))
    ]
    assert [answer.status_code for answer in wrong] == [401] * 5
    assert_rate_limited(change_password(apps[1], headers, NEW_PASSWORD))


def register(client: TestClient[Any], email: str) -> Any:
    body = {"email": email, "password": PASSWORD, "name": "Aiko", "nickname": "Ai"}
    return client.post("/api/v1/auth/register", json=body)


def test_sign_ups_from_one_address_are_throttled(apps: list[TestClient[Any]]) -> None:
    answers = [register(c, f"new{n}@example.com") for c, n in zip(cycle(apps), range(3))]
    assert [answer.status_code for answer in answers] == [201] * 3

    refused = register(apps[1], "one-more@example.com")
    assert_rate_limited(refused)
    login = {"email": "one-more@example.com", "password": PASSWORD}
    assert apps[0].post("/api/v1/auth/token", json=login).status_code == 401


def checkout(client: TestClient[Any], headers: dict[str, str]) -> Any:
    return client.post("/api/v1/gems/checkout", headers=headers, json={"pack_id": PACK.pack_id})


def subscribe(client: TestClient[Any], headers: dict[str, str]) -> Any:
    return client.post("/api/v1/subscriptions", headers=headers, json={"tier": "premium"})


def test_checkouts_and_subscriptions_are_throttled_per_account(
    apps: list[TestClient[Any]],
) -> None:
    first, second = apps
    user = sign_up(first)
    assert [checkout(c, user).status_code for c in (first, second, first)] == [200] * 3

    assert_rate_limited(checkout(second, user))
    assert_rate_limited(subscribe(first, user))
    assert first.get("/api/v1/inventory", headers=user).json()["gems"] == 3 * PACK.gems
    assert first.get("/api/v1/me", headers=user).json()["subscription_tier"] == "free"


def test_checkouts_are_throttled_per_address_across_accounts(
    apps: list[TestClient[Any]],
) -> None:
    first, second = apps
    one, other = sign_up(first), sign_up(first)
    assert [checkout(c, one).status_code for c in (first, second, first)] == [200] * 3
    assert subscribe(second, other).status_code == 200
    assert checkout(first, other).status_code == 200

    assert_rate_limited(checkout(second, other))
