"""One place that turns every error into an HTTP answer of API.md's one shape.

`{"status_code", "detail", "extra": {"code", …}}`: the domain's errors, the
application's, the store's and the framework's own. `error_body` is the only
function that builds that body; `problem` adds the headers a status promises
(`WWW-Authenticate` on 401, `Retry-After` on 429 and 503).
"""

from __future__ import annotations

from typing import Any

import psycopg
import redis.exceptions
import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_402_PAYMENT_REQUIRED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from companion.app import errors as app
from companion.app.message_limits import RateLimited
from companion.domain import errors as domain
from companion.domain import payments, subscription

log = structlog.get_logger(__name__)

VALIDATION_FAILED = "validation_failed"

# Seconds a client should wait before retrying when a dependency is down.
STORE_RETRY_AFTER = app.StoreUnavailable.retry_after

DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.InvalidInput: HTTP_422_UNPROCESSABLE_ENTITY,
    domain.EmailAlreadyRegistered: HTTP_409_CONFLICT,
    domain.InvalidCredentials: HTTP_401_UNAUTHORIZED,
    domain.UserNotFound: HTTP_401_UNAUTHORIZED,
    domain.UserForgotten: HTTP_401_UNAUTHORIZED,
    domain.CharacterNotFound: HTTP_404_NOT_FOUND,
    domain.MessageNotFound: HTTP_404_NOT_FOUND,
    domain.MemoryNotFound: HTTP_404_NOT_FOUND,
    domain.AlreadyReplied: HTTP_409_CONFLICT,
    domain.ReplyNotLatest: HTTP_409_CONFLICT,
    domain.IdempotencyConflict: HTTP_409_CONFLICT,
    payments.InvalidSignature: HTTP_400_BAD_REQUEST,
    payments.GatewayUnavailable: HTTP_503_SERVICE_UNAVAILABLE,
    subscription.SubscriptionNotFound: HTTP_404_NOT_FOUND,
    subscription.AlreadySubscribed: HTTP_409_CONFLICT,
    domain.InsufficientGems: HTTP_402_PAYMENT_REQUIRED,
    domain.WalletInDebt: HTTP_402_PAYMENT_REQUIRED,
    domain.AlreadyOwned: HTTP_409_CONFLICT,
    domain.ItemNotFound: HTTP_404_NOT_FOUND,
    domain.ItemAlreadyListed: HTTP_409_CONFLICT,
    domain.ItemNotOwned: HTTP_409_CONFLICT,
    domain.TierRequired: HTTP_403_FORBIDDEN,
    domain.LevelRequired: HTTP_403_FORBIDDEN,
}

# The code of an error the framework raises without one of ours.
STATUS_CODE: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: VALIDATION_FAILED,
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

# Every code this API answers with: (status, meaning). The README's error table.
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "the request is malformed in a way no other code names"),
    "malformed_json": (400, "the body is not JSON (or uses NaN / Infinity)"),
    "invalid_encoding": (400, "the body is not UTF-8, or a string holds a lone surrogate"),
    "too_deep": (400, "the body nests arrays or objects too deeply"),
    "number_out_of_range": (400, "a number is too large (an infinite float, a huge integer)"),
    "duplicate_key": (400, "an object names the same key twice"),
    "invalid_signature": (400, "a webhook's signature is missing, forged or too old"),
    "invalid_card": (
        400,
        "the bytes hold no character card: not a PNG, a truncated or corrupt one, no"
        " ccv3/chara chunk, or a chunk that is not base64 JSON",
    ),
    "unauthorized": (401, "no bearer token, or a bad or expired one"),
    "invalid_credentials": (401, "wrong email or password"),
    "user_not_found": (401, "the token's user does not exist"),
    "user_forgotten": (401, "the token's user was deleted"),
    "payment_required": (402, "the request needs gems or a payment"),
    "insufficient_gems": (402, "the item costs more gems than the wallet holds"),
    "wallet_in_debt": (402, "refunded gems were already spent; buy gems to settle the debt"),
    "forbidden": (403, "the caller may not do this"),
    "tier_required": (403, "needs a premium or ultimate subscription"),
    "level_required": (403, "needs a higher relationship level with the character"),
    "not_found": (404, "no such route"),
    "character_not_found": (404, "no such character, or not the caller's"),
    "message_not_found": (404, "no such message in this conversation"),
    "memory_not_found": (404, "no such memory of this character, or not the caller's"),
    "subscription_not_found": (404, "no live subscription of that tier"),
    "item_not_found": (404, "no such item in the store, or no longer sold"),
    "method_not_allowed": (405, "the route does not answer this method"),
    "conflict": (409, "the request conflicts with the current state"),
    "already_replied": (409, "the message already has its reply"),
    "idempotency_conflict": (409, "an idempotency key was reused for something else"),
    "already_subscribed": (409, "a live subscription to another tier; cancel it first"),
    "already_owned": (409, "the character already owns this item"),
    "item_not_owned": (409, "the character does not own this item"),
    "item_already_listed": (409, "an item with this slug is already in the catalogue"),
    "concurrency_conflict": (409, "another writer kept winning; retry"),
    "position_ahead": (409, "X-Consistency-Position names a position the log has not reached"),
    "body_too_large": (413, "the body is larger than the server accepts"),
    "unsupported_media_type": (415, "the Content-Type is not one the route reads"),
    VALIDATION_FAILED: (422, "well-formed JSON with wrong fields; `extra.errors` lists them"),
    "too_many_attempts": (429, "too many failed logins; wait `Retry-After` seconds"),
    "rate_limited": (
        429,
        "too many messages for the plan, wrong current passwords, sign-ups or checkouts;"
        " wait `Retry-After` seconds",
    ),
    "conversation_busy": (429, "too many turns of this conversation wait already; retry soon"),
    "internal_error": (500, "a bug: never expected"),
    "store_unavailable": (503, "the event store cannot be reached; retry after `Retry-After`"),
    "store_unreadable": (503, "stored events cannot be decrypted (operator's error)"),
    "dependency_unavailable": (503, "Redis or another dependency cannot be reached"),
    "payments_unavailable": (503, "the payment provider cannot be reached; retry"),
    "service_unavailable": (503, "the service cannot answer now"),
}


def error_body(status_code: int, detail: str, code: str, **extra: Any) -> dict[str, Any]:
    """The one error body of API.md."""
    return {"status_code": status_code, "detail": detail, "extra": {"code": code, **extra}}


def problem(
    status_code: int,
    detail: str,
    code: str,
    *,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """An error answer: the body plus the headers its status promises."""
    answer_headers = dict(headers or {})
    if status_code == HTTP_401_UNAUTHORIZED:
        answer_headers["WWW-Authenticate"] = "Bearer"
    if retry_after is None and status_code in (HTTP_429_TOO_MANY_REQUESTS, 503):
        retry_after = STORE_RETRY_AFTER
    if retry_after is not None:
        answer_headers["Retry-After"] = str(retry_after)
    return Response(
        error_body(status_code, detail, code, **extra),
        status_code=status_code,
        headers=answer_headers,
    )


def field_error(field: str, message: str) -> dict[str, str]:
    """One entry of a 422's `extra.errors`."""
    return {"field": field, "message": message}


def _domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, domain.DomainError)
    status = next(
        (code for cls, code in DOMAIN_STATUS.items() if isinstance(exc, cls)),
        HTTP_400_BAD_REQUEST,
    )
    if isinstance(exc, domain.InvalidInput):
        message = exc.detail.removeprefix(f"{exc.field}: ")
        return problem(
            status, exc.detail, VALIDATION_FAILED, errors=[field_error(exc.field, message)]
        )
    return problem(status, exc.detail, exc.code)


def _field_name(entry: dict[str, Any]) -> str:
    key = str(entry.get("key") or "")
    if not key or (key == "data" and entry.get("source") == "body"):
        return "body"
    return key


def _validation_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, ValidationException)
    # Litestar says 400 for any bad field; API.md keeps 400 for a body that is
    # not JSON at all and 422 for well-formed input with wrong fields.
    if isinstance(exc.extra, list) and exc.extra:
        errors = [
            field_error(_field_name(entry), str(entry.get("message", "invalid")))
            for entry in exc.extra
            if isinstance(entry, dict)
        ]
        for entry in errors:
            if entry["field"] == "body" and entry["message"] in ("'data'", "data"):
                entry["message"] = "a JSON body is required"
        return problem(
            HTTP_422_UNPROCESSABLE_ENTITY, "validation failed", VALIDATION_FAILED, errors=errors
        )
    return problem(HTTP_400_BAD_REQUEST, exc.detail, "bad_request")


def _http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR and status != HTTP_503_SERVICE_UNAVAILABLE:
        return _unexpected(request, exc)
    extra = dict(exc.extra) if isinstance(exc.extra, dict) else {}
    code = str(extra.pop("code", None) or STATUS_CODE.get(status, "http_error"))
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "retry-after"}
    retry = (exc.headers or {}).get("Retry-After")
    retry_after = int(retry) if retry is not None and str(retry).isdigit() else None
    return problem(status, exc.detail, code, retry_after=retry_after, headers=headers, **extra)


def _application_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, app.ApplicationError)
    if isinstance(exc, app.ConcurrencyConflict):
        return problem(HTTP_409_CONFLICT, exc.detail, exc.code)
    if isinstance(exc, app.TooManyAttempts | app.ConversationBusy | RateLimited):
        return problem(
            HTTP_429_TOO_MANY_REQUESTS, exc.detail, exc.code, retry_after=exc.retry_after
        )
    if isinstance(exc, app.StoreUnreadable):
        # An operator's error (usually the wrong cipher key): loud in the log,
        # never a 401 that would send the user to log in again.
        log.error(
            "store.unreadable", position=exc.position, detail=exc.detail, path=request.url.path
        )
        return problem(
            HTTP_503_SERVICE_UNAVAILABLE,
            "stored data cannot be read, try again later",
            exc.code,
            retry_after=exc.retry_after,
        )
    if isinstance(exc, app.StoreUnavailable):
        return _store_down(request, exc)
    return _unexpected(request, exc)


def _store_down(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("store.unavailable", error=type(exc).__name__, path=request.url.path)
    return problem(
        HTTP_503_SERVICE_UNAVAILABLE,
        "the event store is unavailable, try again",
        "store_unavailable",
        retry_after=STORE_RETRY_AFTER,
    )


def _dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("dependency.unavailable", error=type(exc).__name__, path=request.url.path)
    return problem(
        HTTP_503_SERVICE_UNAVAILABLE,
        "a dependency is unavailable, try again",
        "dependency_unavailable",
        retry_after=STORE_RETRY_AFTER,
    )


def _undecodable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    return problem(HTTP_400_BAD_REQUEST, "the request is not valid UTF-8", "invalid_encoding")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("request.failed", path=request.url.path, error=type(exc).__name__)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error", "internal_error")


exception_handlers: ExceptionHandlersMap = {
    domain.DomainError: _domain_error,
    app.ApplicationError: _application_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    OperationalError: _store_down,
    InterfaceError: _store_down,
    TimeoutError: _store_down,
    psycopg.OperationalError: _store_down,  # psycopg_pool.PoolTimeout among them
    psycopg.InterfaceError: _store_down,
    redis.exceptions.ConnectionError: _dependency_down,
    redis.exceptions.TimeoutError: _dependency_down,
    UnicodeDecodeError: _undecodable,
    Exception: _unexpected,
}
