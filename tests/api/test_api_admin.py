"""The admin route: KPIs for accounts with the admin role, a route that is not there for others."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient

from companion.app.admins import Admins
from companion.app.bootstrap import Companion
from tests.support.api import sign_up

TODAY = datetime.now(UTC).date().isoformat()
KPIS = f"/api/v1/admin/kpis?from={TODAY}&to={TODAY}&by=day"


def admin(client: TestClient[Any], companion: Companion, email: str) -> dict[str, str]:
    headers = sign_up(client, email)
    Admins(companion.uow).grant(email)
    companion.runner.run_once()
    return headers


def test_an_admin_reads_the_kpis_of_a_range(
    client: TestClient[Any], companion: Companion, character: str
) -> None:
    headers = admin(client, companion, "boss@example.com")
    companion.runner.run_once()

    answer = client.get(KPIS, headers=headers)

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["start"], report["end"], report["by"]) == (TODAY, TODAY, "day")
    assert [period["start"] for period in report["periods"]] == [TODAY]
    total = report["total"]
    assert total["new_users"] == 2
    assert set(total["retention"]) == {"day1", "day7", "day30"}
    assert set(total["latency_ms"]) == {"p50", "p95", "p99"}
    assert [c["character_id"] for c in report["characters"]] == [character]


def test_to_anyone_else_the_route_is_not_there(
    client: TestClient[Any], companion: Companion, user: dict[str, str]
) -> None:
    missing = client.get("/api/v1/admin/nothing-here", headers=user)

    ordinary = client.get(KPIS, headers=user)

    assert ordinary.status_code == missing.status_code == 404
    assert ordinary.json() == missing.json()
    assert ordinary.json()["extra"]["code"] == "not_found"


def test_a_revoked_admin_is_an_ordinary_account_again(
    client: TestClient[Any], companion: Companion
) -> None:
    headers = admin(client, companion, "former@example.com")
    assert client.get(KPIS, headers=headers).status_code == 200

    Admins(companion.uow).revoke("former@example.com")
    companion.runner.run_once()

    assert client.get(KPIS, headers=headers).status_code == 404


def test_a_range_that_ends_before_it_starts_is_refused(
    client: TestClient[Any], companion: Companion
) -> None:
    headers = admin(client, companion, "careful@example.com")

    answer = client.get("/api/v1/admin/kpis?from=2026-02-01&to=2026-01-01", headers=headers)

    assert answer.status_code == 422
    assert answer.json()["extra"]["code"] == "validation_failed"
