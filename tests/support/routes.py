"""The app's route table as test cases: every route and method, with its path filled in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import uuid4

from litestar import Litestar
from litestar.routes import HTTPRoute

from companion.app.api.auth import PUBLIC_PATHS

_PARAMETER = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    secured: bool
    takes_body: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _fill(path: str) -> str:
    return _PARAMETER.sub(lambda m: str(uuid4()) if m[2] == "uuid" else "x", path)


def operations(app: Litestar) -> list[Operation]:
    """Every documented HTTP operation of the app, so that a new route is covered too."""
    public = re.compile("|".join(PUBLIC_PATHS))
    found: list[Operation] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append(
                    Operation(
                        method=method,
                        path=_fill(route.path),
                        secured=not public.match(route.path),
                        takes_body="data" in handler.parsed_fn_signature.parameters,
                    )
                )
    return found
