"""The OpenAPI document as the API really behaves, and its pages served without a network.

Litestar documents each handler's success answer. The errors every route can
answer are derived here from the route table, so a new route is covered
without copying anything: a route that reads a body can answer 400, 413, 415
and 422; one with query or header parameters 422 (every read that uses the
store takes `X-Consistency-Position`); one with path parameters 404; a
secured one 401; one that uses the Companion (and so the store) 503. A
handler declares only what is its own (`responses=errors(409)`). Every error
answer has the one `ErrorBody` schema, 401 documents `WWW-Authenticate` and
429/503 `Retry-After`; public routes say `security: []`, the others need the
bearer token.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.router import Router
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from swagger_ui_bundle import swagger_ui_path

from companion.app.api import schemas
from companion.app.api.dependencies import STORE_DEPENDENCIES
from companion.app.api.schemas import ErrorBody

SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"
ERROR_REF = "#/components/schemas/ErrorBody"

DESCRIPTIONS: dict[int, str] = {
    400: "The body is not JSON, not UTF-8, too deep, has a huge number or a duplicate key",
    401: "No bearer token, a bad or expired one, or wrong credentials",
    402: "Not enough gems",
    403: "Forbidden",
    404: "No such resource, or not the caller's",
    409: "Conflicts with the current state",
    413: "The body is too large",
    415: "The body is not application/json",
    422: "Well-formed input with wrong fields; `extra.errors` lists them",
    429: "Too many attempts; retry after `Retry-After` seconds",
    503: "A dependency (the event store) is unavailable; retry after `Retry-After` seconds",
}

BODY_STATUSES = (400, 413, 415, 422)

# Every read that uses the store may name a position to read after (read_after.py).
READ_AFTER_PARAMETER: dict[str, Any] = {
    "name": "X-Consistency-Position",
    "in": "header",
    "required": False,
    "description": (
        "Hold the read until the read models have applied this log position (a write's "
        "`position`, as the WebSocket's final chat_response gives it), at most "
        "COMPANION_READ_YOUR_WRITES_TIMEOUT; `X-Consistency` then says applied or pending. "
        "Ahead of the log: 409 `position_ahead`."
    ),
    "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """A handler's own error answers, for its decorator's `responses=`."""
    return {
        status: ResponseSpec(
            data_container=ErrorBody, description=DESCRIPTIONS.get(status, "Error")
        )
        for status in statuses
    }


def _model_components() -> dict[str, Any]:
    """Every body's schema as pydantic says it, constraints (patterns, items) included.

    Litestar's own rendering drops some of them, and then the document would
    call valid what the API refuses.
    """
    models = [
        model
        for model in vars(schemas).values()
        if isinstance(model, type)
        and issubclass(model, BaseModel)
        and model.__module__ == schemas.__name__
        and model is not schemas.Body
    ]
    _, top = models_json_schema(
        [(m, "validation" if issubclass(m, schemas.Body) else "serialization") for m in models],
        ref_template="#/components/schemas/{model}",
    )
    components: dict[str, Any] = top.get("$defs", {})
    return components


def _headers(status: int) -> dict[str, Any]:
    if status == 401:
        return {
            "WWW-Authenticate": {
                "description": "Always `Bearer`",
                "required": True,
                "schema": {"type": "string"},
            }
        }
    if status in (429, 503):
        return {
            "Retry-After": {
                "description": "Seconds to wait before retrying",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return {}


def _error_response(status: int, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if headers := _headers(status):
        response["headers"] = headers
    return response


def _is_error_shaped(response: dict[str, Any]) -> bool:
    """Ours unless declared with a model of its own (as /ready's 503 is)."""
    content = response.get("content") or {}
    refs = [media.get("schema", {}).get("$ref", ERROR_REF) for media in content.values()]
    return all(ref == ERROR_REF for ref in refs)


def _derived_statuses(
    operation: dict[str, Any], handler: HTTPRouteHandler, *, secured: bool
) -> set[int]:
    parameters = operation.get("parameters", [])
    statuses: set[int] = set()
    if "requestBody" in operation:
        statuses.update(BODY_STATUSES)
    if any(p.get("in") in ("query", "header") for p in parameters):
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if secured:
        statuses.add(401)
    if _reaches_the_store(handler):
        statuses.add(503)
    return statuses


def _reaches_the_store(handler: HTTPRouteHandler) -> bool:
    """Whether the handler takes a dependency that reads or writes the store."""
    return not STORE_DEPENDENCIES.keys().isdisjoint(handler.parsed_fn_signature.parameters)


def _public(app: Litestar) -> re.Pattern[str]:
    exclude = app.state.jwt_auth.exclude or []
    patterns = [exclude] if isinstance(exclude, str) else list(exclude)
    return re.compile("|".join(patterns)) if patterns else re.compile(r"(?!)")


def truthful(app: Litestar, generated: dict[str, Any]) -> dict[str, Any]:
    """The generated document, with every error answer and each route's security."""
    document = copy.deepcopy(generated)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(_model_components())
    public = _public(app)
    bearer = dict(app.state.jwt_auth.security_requirement)
    paths: dict[str, Any] = document.setdefault("paths", {})
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = paths.get(route.path_format)
        if item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = item.get(method.lower())
                if operation is None:
                    continue
                secured = not public.match(route.path)
                operation["security"] = [bearer] if secured else []
                responses: dict[str, Any] = operation.setdefault("responses", {})
                if method == "GET" and _reaches_the_store(handler):
                    operation.setdefault("parameters", []).append(READ_AFTER_PARAMETER)
                    operation.setdefault("responses", {}).setdefault("409", _error_response(409))
                for derived in _derived_statuses(operation, handler, secured=secured):
                    responses.setdefault(str(derived), _error_response(derived))
                for code, response in list(responses.items()):
                    if int(code) >= 400 and _is_error_shaped(response):
                        responses[code] = _error_response(int(code), response.get("description"))
    paths[f"{SCHEMA_PATH}/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["schema"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    return document


class _Truth:
    """`truthful` once per generated document (Litestar regenerates it when routes change)."""

    def __init__(self) -> None:
        self._source: dict[str, Any] | None = None
        self._document: dict[str, Any] = {}

    def __call__(self, app: Litestar, generated: dict[str, Any]) -> dict[str, Any]:
        if generated is not self._source:
            self._document = truthful(app, generated)
            self._source = generated
        return self._document


class TruthfulJson(JsonRenderPlugin):
    def __init__(self, truth: _Truth) -> None:
        super().__init__()
        self._truth = truth

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, self._truth(request.app, openapi_schema))


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI from the swagger-ui-bundle package's files, served by us: no CDN."""

    def __init__(self, truth: _Truth) -> None:
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
            path="/swagger",
        )
        self._truth = truth

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, self._truth(request.app, openapi_schema))


def openapi_config(*, title: str, version: str, description: str) -> OpenAPIConfig:
    """The document at /schema/openapi.json and Swagger UI at /schema and /schema/swagger."""
    truth = _Truth()
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path=SCHEMA_PATH,
        render_plugins=[OfflineSwagger(truth), TruthfulJson(truth)],
    )


def schema_assets() -> Router:
    """Swagger UI's own files, from the installed package."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[swagger_ui_path],
        include_in_schema=False,
        name="schema-assets",
    )
