"""`GET /metrics` for a Prometheus scraper, and the API's own instruments: requests, sockets.

The route answers only a scraper presenting `Authorization: Bearer
<COMPANION_METRICS_TOKEN>` (compared in constant time; anything else is 401
`unauthorized`). Without the setting it answers 404 `not_found`, as a route
that does not exist would. It is not in the OpenAPI document.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from companion.app import metrics
from companion.app.api.auth import SCHEME
from companion.app.api.dependencies import RunnerDep, SettingsDep
from companion.app.settings import Settings
from projections.runner import ProjectionRunner

log = structlog.get_logger(__name__)

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
"""The route label of a request that reached no route's template."""


class RequestMetrics(ASGIMiddleware):
    """Each answered request's time, by route template and status class; open sockets."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] == ScopeType.WEBSOCKET:
            await _socket(scope, receive, send, next_app)
            return
        started = time.perf_counter()
        status: list[int] = []

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await next_app(scope, receive, send_wrapper)
        finally:
            # A request that never began its answer (the client left) has no status to count.
            if status:
                metrics.request_served(
                    str(scope.get("method", "")),
                    scope.get("path_template") or UNMATCHED,
                    status[0],
                    time.perf_counter() - started,
                )


async def _socket(scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
    route = scope.get("path_template") or UNMATCHED
    accepted = False

    async def send_wrapper(message: Any) -> None:
        nonlocal accepted
        if message["type"] == "websocket.accept" and not accepted:
            accepted = True
            metrics.socket_opened(route)
        await send(message)

    try:
        await next_app(scope, receive, send_wrapper)
    finally:
        if accepted:
            metrics.socket_closed(route)


@asynccontextmanager
async def metrics_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Ready the shared metrics directory as the process starts; leave it as it stops."""
    metrics.process_started()
    try:
        yield
    finally:
        metrics.process_stopped()


def _check_scraper(request: Request[Any, Any, Any], settings: Settings) -> None:
    token = settings.metrics_token
    if token is None:
        raise NotFoundException("no such route")
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode("utf-8")
    if scheme != SCHEME or not hmac.compare_digest(presented.encode("utf-8"), expected):
        raise NotAuthorizedException("the metrics token is required")


def _lag(runner: ProjectionRunner) -> dict[str, int] | None:
    """Each read model's lag, read from the store now; None when the store cannot tell."""
    try:
        head = runner.head()
        return {name: max(0, head - runner.position(name)) for name in runner.projections}
    except Exception as error:
        log.warning("metrics.lag_unavailable", error=type(error).__name__)
        return None


@get(
    METRICS_PATH,
    include_in_schema=False,
    sync_to_thread=True,
    opt={"exclude_from_auth": True},
)
def scrape_metrics(
    request: Request[Any, Any, Any], settings: SettingsDep, runner: RunnerDep
) -> Response[bytes]:
    """Every process's metrics, summed, with the read models' lag from the store."""
    _check_scraper(request, settings)
    return Response(metrics.scrape(_lag(runner)), media_type=metrics.CONTENT_TYPE)
