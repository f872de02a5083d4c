"""Schemathesis over our own OpenAPI document: no input may make the API fail with a 5xx."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from tests.api.conftest import PASSWORD, PERSONA, api_settings

EXAMPLES_PER_ROUTE = 25  # per route and per mode (valid and invalid input)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real server on SQLite, with a user and a character the fuzzer acts as."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    companion = bootstrap(api_settings(tmp, database_url=f"sqlite:///{tmp}/events.db"))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(companion), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=base) as http:
        http.post(
            "/api/v1/auth/register",
            json={"email": "fuzz@example.com", "password": PASSWORD, "name": "F", "nickname": "F"},
        ).raise_for_status()
        token = http.post(
            "/api/v1/auth/token", json={"email": "fuzz@example.com", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        character = http.post("/api/v1/characters", headers=headers, json=PERSONA).json()
    yield {"base": base, "headers": headers, "character_id": character["character_id"]}
    server.should_exit = True
    thread.join(timeout=10)


def test_no_input_makes_the_api_fail(served: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(f"{served['base']}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    failures: list[str] = []
    calls = 0
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def no_server_error(case: Any) -> None:
            parameters = case.path_parameters or {}
            # Every other case aims at the caller's own character so that the
            # handler's deeper paths run too, not only the 404.
            if "character_id" in parameters and len(repr(case.body)) % 2 == 0:
                parameters["character_id"] = served["character_id"]
            nonlocal calls
            calls += 1
            response = case.call(base_url=served["base"], headers=served["headers"])
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}\n{case.as_curl_command()}"
            )

        try:
            no_server_error()
        except AssertionError as failure:
            failures.append(str(failure))
    assert not failures, "\n\n".join(failures)
    assert calls >= len(operations) * 2 * 5, calls
