"""The Litestar application: routes, auth, errors, OpenAPI, lifecycle."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import ASGIMiddleware
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Receive, Scope, Send

from companion import __version__
from companion.app.api.accounts import AuthController, MeController
from companion.app.api.admin import AdminController
from companion.app.api.auth import jwt_auth
from companion.app.api.body import StrictJSONPydanticPlugin, StrictJSONRequest
from companion.app.api.cards import CardController
from companion.app.api.characters import CharacterController
from companion.app.api.consistency import consistency_header
from companion.app.api.days import DaysController
from companion.app.api.dependencies import dependencies, state_for
from companion.app.api.emotion import EmotionController
from companion.app.api.errors import exception_handlers
from companion.app.api.health import HealthController
from companion.app.api.memories import MemoriesController
from companion.app.api.metrics import RequestMetrics, metrics_lifespan, scrape_metrics
from companion.app.api.openapi import openapi_config, schema_assets
from companion.app.api.payments import PaymentsController, StripeWebhookController
from companion.app.api.provenance import ProvenanceController
from companion.app.api.read_after import read_after
from companion.app.api.store import StoreController
from companion.app.api.ws import chat_socket
from companion.app.api.ws_channels import channels_plugin
from companion.app.bootstrap import Companion

log = structlog.get_logger(__name__)

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web"
"""The web client's static files, served at "/" (no build step)."""


class RequestLog(ASGIMiddleware):
    """A request id for every log line of a request, and one line when it ends."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = uuid4().hex[:16]
        started = time.perf_counter()
        status: list[int] = []

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await next_app(scope, receive, send_wrapper)
            finally:
                log.info(
                    "http.request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status[0] if status else None,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )


def create_app(companion: Companion, *, run_projections: bool | None = None) -> Litestar:
    """The API over one Companion. Embedded, it also runs the projection runner."""
    settings = companion.settings
    embedded = settings.embedded_projections if run_projections is None else run_projections
    auth = jwt_auth(settings.resolved_jwt_secret())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if embedded:
            companion.runner.start()
            if companion.daily_life is not None and settings.daily_life:
                companion.daily_life.start()
        try:
            yield
        finally:
            companion.close()

    return Litestar(
        route_handlers=[
            AuthController,
            MeController,
            CharacterController,
            CardController,
            ProvenanceController,
            MemoriesController,
            EmotionController,
            DaysController,
            HealthController,
            PaymentsController,
            StripeWebhookController,
            StoreController,
            AdminController,
            chat_socket,
            scrape_metrics,
            schema_assets(),
            create_static_files_router(
                path="/",
                directories=[WEB_CLIENT],
                html_mode=True,
                name="web",
                include_in_schema=False,
                opt={"exclude_from_auth": True},
            ),
        ],
        dependencies=dependencies(),
        state=State({**state_for(companion), "jwt_auth": auth}),
        on_app_init=[auth.on_app_init],
        request_class=StrictJSONRequest,
        plugins=[StrictJSONPydanticPlugin(), channels_plugin(settings)],
        exception_handlers=exception_handlers,
        middleware=[RequestLog(), RequestMetrics()],
        before_request=read_after,
        before_send=[consistency_header],
        lifespan=[lifespan, metrics_lifespan],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(
            title="companion",
            version=__version__,
            description=(
                "An event-sourced backend for AI companion apps. Bodies are JSON"
                " (application/json, UTF-8) with JSON's own types: a number is never a"
                " string nor a boolean, an integer may be written 20.0 but not 20.5;"
                " strings carry no NUL character."
                " Every error has the one ErrorBody shape."
            ),
        ),
        # Logging is the process's business (companion.app.logging), not the app's.
        logging_config=None,
        debug=False,
    )
