"""The OpenAPI document tells the truth, and its page renders with no network."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from tests.support.routes import operations

ERROR_REF = "#/components/schemas/ErrorBody"


def _document(client: TestClient[Any]) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, item in document["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            found: dict[str, Any] = item[method.lower()]
            return found
    raise AssertionError(f"{method} {path} is not documented")


def test_every_route_says_whether_it_needs_the_token(client: TestClient[Any]) -> None:
    document = _document(client)
    for operation in operations(client.app):
        documented = _operation(document, operation.method, operation.path)
        assert documented["security"] == ([{"BearerToken": []}] if operation.secured else []), (
            operation
        )
        if operation.secured:
            assert "401" in documented["responses"], operation


def test_every_route_that_reads_a_body_documents_its_refusals(client: TestClient[Any]) -> None:
    document = _document(client)
    for operation in [o for o in operations(client.app) if o.takes_body]:
        responses = _operation(document, operation.method, operation.path)["responses"]
        assert {"400", "413", "415", "422"} <= set(responses), operation


def test_every_error_answer_has_the_one_schema_and_its_headers(client: TestClient[Any]) -> None:
    document = _document(client)
    assert "ErrorBody" in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) < 400 or path == "/ready":
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)
                if status in ("429", "503"):
                    assert "Retry-After" in response["headers"], (method, path, status)
                if status == "401":
                    assert "WWW-Authenticate" in response["headers"], (method, path, status)


def test_the_token_route_documents_throttling(client: TestClient[Any]) -> None:
    responses = _operation(_document(client), "POST", "/api/v1/auth/token")["responses"]
    assert "429" in responses


def test_the_schema_page_and_its_assets_come_from_our_own_server(client: TestClient[Any]) -> None:
    page = client.get("/schema")
    assert page.status_code == 200
    assert not re.search(r"https?://", page.text), re.findall(r"https?://[^\s'\"]+", page.text)
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert any(a.endswith(".js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset
