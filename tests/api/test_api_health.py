from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from tests.support.api import api_settings


def test_health_is_up_without_a_token(client: TestClient[Any]) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_ready_reports_the_store_and_every_projection(
    client: TestClient[Any], companion: Companion
) -> None:
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"event_store": "ok", "projections": "ok"}
    assert set(body["projections"]) == {p.name for p in companion.read_models.all()}


def test_the_openapi_document_describes_the_api(client: TestClient[Any]) -> None:
    document = client.get("/schema/openapi.json").json()
    paths = set(document["paths"])
    assert {
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/characters",
        "/api/v1/characters/{character_id}",
        "/api/v1/characters/{character_id}/messages",
        "/health",
        "/ready",
    } <= paths
    assert "BearerToken" in document["components"]["securitySchemes"]


@pytest.mark.redis
def test_ready_checks_redis_when_it_is_configured(tmp_path: Path, redis_url: str) -> None:
    companion = bootstrap(api_settings(tmp_path, redis_url=redis_url))
    with TestClient(create_app(companion)) as client:
        body = client.get("/ready").json()
    assert body["checks"]["redis"] == "ok"


def test_ready_answers_503_when_redis_is_down(tmp_path: Path) -> None:
    companion = bootstrap(api_settings(tmp_path, redis_url="redis://127.0.0.1:1/0"))
    with TestClient(create_app(companion)) as client:
        ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("unavailable")
    assert ready.json()["status"] == "unavailable"


def test_ready_answers_503_while_projections_are_far_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from companion.app.api import health

    monkeypatch.setattr(health, "MAX_READY_LAG", 1)
    companion = bootstrap(api_settings(tmp_path))
    with TestClient(create_app(companion, run_projections=False)) as client:
        for n in range(2):
            companion.accounts.register(
                email=f"u{n}@example.com", password="0123456789ab", name="U", nickname="U"
            )
        behind = client.get("/ready")
        companion.runner.run_once()
        caught_up = client.get("/ready")
    assert behind.status_code == 503
    assert behind.json()["checks"]["projections"] == "behind by 4"
    assert caught_up.status_code == 200


def test_ready_fails_when_no_projection_worker_is_alive_while_events_wait(
    tmp_path: Path,
) -> None:
    settings = api_settings(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/events.db",
        projection_heartbeat_interval=0.05,
        projection_worker_stale_seconds=0.5,
    )
    api = bootstrap(settings)
    worker = bootstrap(settings)  # `companion projections run` in another process
    try:
        with TestClient(create_app(api, run_projections=False)) as client:
            assert client.get("/ready").status_code == 200  # nothing waits: nothing to do
            api.accounts.register(
                email="w@example.com", password="0123456789ab", name="W", nickname="W"
            )
            refused = client.get("/ready")
            assert refused.status_code == 503
            assert "no projection worker" in refused.json()["checks"]["projection_worker"]

            worker.runner.start()
            assert worker.runner.wait_for(api.runner.head(), ["users"], timeout=10)
            worker.accounts.register(
                email="v@example.com", password="0123456789ab", name="V", nickname="V"
            )  # events wait again, but a worker is alive
            assert client.get("/ready").json()["checks"]["projection_worker"] == "ok"

            worker.runner.stop()
            api.accounts.register(
                email="u@example.com", password="0123456789ab", name="U", nickname="U"
            )
            deadline = time.monotonic() + 10
            while client.get("/ready").status_code != 503:
                assert time.monotonic() < deadline, "a stopped worker still counts as alive"
                time.sleep(0.1)
    finally:
        worker.close()
        api.close()
