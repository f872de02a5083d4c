"""No body a client can send reaches a 500: each is a 4xx of the one error shape, on every route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support.errors import assert_error_shape
from tests.support.routes import Operation, operations

JSON = {"content-type": "application/json"}

BAD_BODIES: dict[str, tuple[bytes, int, str]] = {
    "1,000 open brackets": (b"[" * 1000, 400, "too_deep"),
    "objects nested 1,000 deep": (b'{"a":' * 1000, 400, "too_deep"),
    "1e999": (b'{"email": 1e999}', 400, "number_out_of_range"),
    "an integer of 5,000 digits": (b'{"age": ' + b"9" * 5000 + b"}", 400, "number_out_of_range"),
    "NaN": (b'{"age": NaN}', 400, "malformed_json"),
    "not UTF-8": (b'{"email": "\xff\xfe"}', 400, "invalid_encoding"),
    "a lone surrogate": (b'{"email": "\\ud800"}', 400, "invalid_encoding"),
    "a duplicate key": (b'{"email": "a@b.c", "email": "d@e.f"}', 400, "duplicate_key"),
    "not JSON": (b"{'email': 1}", 400, "malformed_json"),
    "a NUL character": (b'{"email": "a\\u0000@b.c"}', 422, "validation_failed"),
}


def _body_routes(
    client: TestClient[Any], user: dict[str, str]
) -> list[tuple[Operation, dict[str, str]]]:
    found = [o for o in operations(client.app) if o.takes_body]
    assert found
    return [(o, user if o.secured else {}) for o in found]


@pytest.mark.parametrize("name", BAD_BODIES)
def test_a_bad_body_is_a_4xx_with_the_shape_on_every_route(
    client: TestClient[Any], user: dict[str, str], name: str
) -> None:
    raw, status, code = BAD_BODIES[name]
    for operation, headers in _body_routes(client, user):
        response = client.request(
            operation.method, operation.path, content=raw, headers={**headers, **JSON}
        )
        assert_error_shape(response, status, code)


def test_a_body_too_big_is_a_413_with_the_shape_on_every_route(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    big = b'{"text": "' + b"x" * (client.app.request_max_body_size or 0) + b'"}'
    for operation, headers in _body_routes(client, user):
        response = client.request(
            operation.method, operation.path, content=big, headers={**headers, **JSON}
        )
        assert_error_shape(response, 413, "body_too_large")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_a_non_json_content_type_is_a_415_on_every_route(
    client: TestClient[Any], user: dict[str, str], content_type: str
) -> None:
    for operation, headers in _body_routes(client, user):
        response = client.request(
            operation.method,
            operation.path,
            content=b'{"text": "hi"}',
            headers={**headers, "content-type": content_type},
        )
        assert_error_shape(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("field", "value"),
    [("age", "20"), ("age", True), ("age", 20.5), ("name", 7), ("personality", "kind")],
)
def test_json_types_are_strict(
    client: TestClient[Any], user: dict[str, str], field: str, value: Any
) -> None:
    from tests.support.personas import HANA

    response = client.post("/api/v1/characters", headers=user, json={**HANA, field: value})
    body = assert_error_shape(response, 422, "validation_failed")
    assert [e["field"] for e in body["extra"]["errors"]] == [field]


def test_a_number_field_refuses_a_boolean(client: TestClient[Any], user: dict[str, str]) -> None:
    from tests.support.personas import HANA

    personality = {**HANA["personality"], "humor": True}
    response = client.post(
        "/api/v1/characters", headers=user, json={**HANA, "personality": personality}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert [e["field"] for e in body["extra"]["errors"]] == ["personality.humor"]


def test_an_integer_may_be_written_with_a_zero_fraction(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    from tests.support.personas import HANA

    response = client.post("/api/v1/characters", headers=user, json={**HANA, "age": 20.0})
    assert response.status_code == 201, response.text


def test_a_missing_body_is_a_422_naming_the_body(client: TestClient[Any]) -> None:
    body = assert_error_shape(
        client.post("/api/v1/auth/register", headers=JSON), 422, "validation_failed"
    )
    assert body["extra"]["errors"][0]["field"] == "body"


def test_a_body_within_the_limits_still_registers(client: TestClient[Any]) -> None:
    raw = re.sub(
        rb"\s",
        b"",
        b'{"email": "ok@example.com", "password": "xxxxxxxxxxxx", "name": "A", "nickname": "A"}',
    )
    response = client.post("/api/v1/auth/register", content=raw, headers=JSON)
    assert response.status_code == 201, response.text
