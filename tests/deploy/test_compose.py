"""compose.yaml: valid against the Compose Specification's schema, two API processes
behind a proxy that speaks WebSocket, a projection worker, and no secret committed."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

from tests.support.deploy import DEPLOY

pytestmark = pytest.mark.files

API_SERVICES = ("api-1", "api-2")
SECRET_SETTINGS = re.compile(r"(PASSWORD|CIPHER_KEY|JWT_SECRET|TOKEN|_URL)$")
NGINX = (DEPLOY / "proxy" / "nginx.conf").read_text()


def compose_spec_schema() -> dict[str, Any]:
    # The Compose Specification's own schema (compose-spec/compose-spec,
    # schema/compose-spec.json, Apache-2.0), as check-jsonschema ships it.
    schema = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(schema.read_text())


def nginx_block(header: str) -> str:
    """The body of the first `header { … }` block of the proxy's configuration."""
    start = NGINX.index(header + " {") + len(header) + 2
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(NGINX[end], 0)
        end += 1
    return NGINX[start : end - 1]


def test_compose_file_follows_the_compose_specification(compose):
    jsonschema.validate(compose, compose_spec_schema())


def test_two_api_processes_serve_behind_the_proxy(compose):
    services = compose["services"]
    for name in API_SERVICES:
        assert services[name]["command"][:1] == ["serve"]
        assert "0.0.0.0" in services[name]["command"]
        assert "ports" not in services[name]
    upstream = nginx_block("upstream companion_api")
    assert sorted(re.findall(r"server (\S+):8000", upstream)) == sorted(API_SERVICES)
    proxy = services["proxy"]
    assert proxy["volumes"] == ["./deploy/proxy/nginx.conf:/etc/nginx/nginx.conf:ro"]
    assert all(proxy["depends_on"][n]["condition"] == "service_healthy" for n in API_SERVICES)
    assert [p for p in proxy["ports"] if p.endswith(":8080")]


def test_the_proxy_upgrades_sockets_and_keeps_them_open():
    socket = nginx_block("location /api/v1/ws")
    assert "proxy_http_version 1.1;" in socket
    assert "proxy_set_header Upgrade $http_upgrade;" in socket
    assert "proxy_set_header Connection $connection_upgrade;" in socket
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in socket
    timeout = re.search(r"proxy_read_timeout (\d+)s;", socket)
    assert timeout
    assert int(timeout.group(1)) >= 3600
    assert "map $http_upgrade $connection_upgrade" in NGINX


def test_api_processes_trust_the_compose_network_and_leave_projections_to_the_worker(compose):
    (network,) = compose["networks"]["default"]["ipam"]["config"]
    for name in (*API_SERVICES, "worker"):
        environment = compose["services"][name]["environment"]
        assert environment["COMPANION_EMBEDDED_PROJECTIONS"] == "false"
        assert json.loads(environment["COMPANION_TRUSTED_PROXIES"]) == [network["subnet"]]
        assert "PROMETHEUS_MULTIPROC_DIR" not in environment
    assert compose["services"]["worker"]["command"] == ["projections", "run"]


def test_every_long_running_service_is_health_checked_and_started_in_order(compose):
    services = compose["services"]
    for name in ("postgres", "redis", *API_SERVICES, "proxy"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    for name in API_SERVICES:
        assert "/health" in " ".join(services[name]["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["store", "migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in (*API_SERVICES, "worker"):
        conditions = {k: v["condition"] for k, v in services[name]["depends_on"].items()}
        assert conditions == {
            "migrate": "service_completed_successfully",
            "redis": "service_healthy",
        }


def test_secrets_come_from_the_environment_and_the_example_lists_them(compose):
    required = set()
    for service in compose["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if SECRET_SETTINGS.search(name):
                references = re.findall(r"\$\{(\w+)(:\?|:-)", value)
                assert references, f"{name} holds a value, not a reference"
                required |= {ref for ref, how in references if how == ":?"}
    example = (DEPLOY / "compose.env.example").read_text()
    listed = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert required <= set(listed)
    assert all(listed[name] == "" for name in required)
