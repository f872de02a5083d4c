"""Schemathesis over our own OpenAPI document: every check it can run passes on every route."""

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
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from tests.support.api import PASSWORD, PERSONA, api_settings

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
    companion = bootstrap(
        api_settings(
            tmp,
            database_url=f"sqlite:///{tmp}/events.db",
            # Read-your-writes waits on the runner's poll; keep it short here.
            projection_poll_interval=0.02,
            # The fuzzer sends hundreds of turns a minute as one user: past a free
            # plan's limits every valid message would be a 429 (documented, and
            # tested elsewhere) and the handlers' deeper paths would go untried.
            messages_per_minute=100_000,
            messages_per_day=1_000_000,
        )
    )
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


# Every check schemathesis can run on one response. The stateful ones
# (use_after_free, ensure_resource_availability, object_level_authorization)
# need links between operations, which this document does not declare.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.positive_data_acceptance,
    checks.missing_required_header,
    checks.unsupported_method,
    checks.allow_header_conformance,
    checks.ignored_auth,
]


def _only_authorization_invalid(case: Any) -> bool:
    """Whether a negative case's one invalid part is its Authorization header."""
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    mutations = list(getattr(data, "mutations", None) or ())
    names = {getattr(m, "parameter", None) for m in mutations} or {getattr(data, "parameter", None)}
    return len(names) == 1 and str(names.pop()).lower() == "authorization"


def test_every_check_passes_on_every_route(served: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(f"{served['base']}/schema/openapi.json")
    # NUL is refused by design (documented in the description); the fuzzer
    # would otherwise call such strings valid.
    schema.config.generation.update(allow_x00=False)
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
        def conforms(case: Any) -> None:
            parameters = case.path_parameters or {}
            # Every other case aims at the caller's own character so that the
            # handler's deeper paths run too, not only the 404.
            # Valid cases only: an invalid one must stay invalid.
            if (
                mode is GenerationMode.POSITIVE  # noqa: B023  # called within this iteration
                and "character_id" in parameters
                and len(repr(case.body)) % 2 == 0
            ):
                parameters["character_id"] = served["character_id"]
            nonlocal calls
            calls += 1
            # The caller's token, unless the case's one invalid part is the token
            # itself: replaced by a good one, that case would be answered 200.
            negative_token = mode is GenerationMode.NEGATIVE and _only_authorization_invalid(case)  # noqa: B023
            case.call_and_validate(
                base_url=served["base"],
                headers={} if negative_token else served["headers"],
                checks=CHECKS,
            )

        try:
            conforms()
        except Unsatisfiable:
            # Nothing to make invalid: the route takes no body and no parameters.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as failure:  # schemathesis raises a FailureGroup of its findings
            failures.append(f"{operation.label} ({mode.name}): {failure}")
    assert not failures, "\n\n".join(failures)
    assert calls >= len(operations) * 2 * 5, calls
