"""One place that turns errors into HTTP answers of API.md's shape."""

from __future__ import annotations

from typing import Any

import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from companion.app.errors import ConcurrencyConflict
from companion.domain import errors as domain

log = structlog.get_logger(__name__)

DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.InvalidInput: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.EmailAlreadyRegistered: HTTP_409_CONFLICT,
    domain.InvalidCredentials: HTTP_401_UNAUTHORIZED,
    domain.UserNotFound: HTTP_401_UNAUTHORIZED,
    domain.UserForgotten: HTTP_401_UNAUTHORIZED,
    domain.CharacterNotFound: HTTP_404_NOT_FOUND,
    domain.MessageNotFound: HTTP_404_NOT_FOUND,
    domain.AlreadyReplied: HTTP_409_CONFLICT,
}


def problem(status_code: int, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": status_code, "detail": detail}
    if extra:
        body["extra"] = extra
    return Response(body, status_code=status_code)


def _domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, domain.DomainError)
    status = next(
        (code for cls, code in DOMAIN_STATUS.items() if isinstance(exc, cls)),
        HTTP_400_BAD_REQUEST,
    )
    if isinstance(exc, domain.InvalidInput):
        return problem(status, exc.detail, code=exc.code, field=exc.field)
    return problem(status, exc.detail, code=exc.code)


def _validation_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, ValidationException)
    # Litestar says 400 for any bad field; API.md keeps 400 for a body that is not
    # JSON at all and 422 for well-formed JSON with wrong fields.
    body: dict[str, Any] = {"status_code": HTTP_422_UNPROCESSABLE_ENTITY, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    return Response(body, status_code=HTTP_422_UNPROCESSABLE_ENTITY)


def _http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, HTTPException)
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    return Response(body, status_code=exc.status_code, headers=exc.headers)


def _conflict(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    return problem(HTTP_409_CONFLICT, str(exc), code="concurrency_conflict")


def _store_down(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("store.unavailable", error=type(exc).__name__, path=request.url.path)
    return problem(HTTP_503_SERVICE_UNAVAILABLE, "the event store is unavailable, try again")


def _undecodable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    return problem(HTTP_400_BAD_REQUEST, "the body is not valid UTF-8")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("request.failed", path=request.url.path, error=type(exc).__name__)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error")


exception_handlers: ExceptionHandlersMap = {
    domain.DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    ConcurrencyConflict: _conflict,
    OperationalError: _store_down,
    InterfaceError: _store_down,
    TimeoutError: _store_down,
    UnicodeDecodeError: _undecodable,
    Exception: _unexpected,
}
