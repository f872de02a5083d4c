"""The one shape of every API error (API.md), checked on a response."""

from __future__ import annotations

from typing import Any


def assert_error_shape(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"status_code", "detail", "extra"}, body
    assert body["status_code"] == status
    assert isinstance(body["detail"], str)
    assert isinstance(body["extra"]["code"], str)
    assert body["extra"]["code"]
    if code is not None:
        assert body["extra"]["code"] == code, body
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return body
