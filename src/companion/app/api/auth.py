"""Bearer tokens (JWT) for the API, from the header or, on the WebSocket, ?token=."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token

PUBLIC_PATHS = ["/api/v1/auth/", "/health", "/ready", "/schema"]


def _user_id(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> UUID | None:
    # The token's subject is all a request needs; use cases load the user when
    # they must (and refuse a forgotten one), so no store read happens here.
    try:
        return UUID(token.sub)
    except ValueError:
        return None


def jwt_auth(secret: str) -> JWTAuth[UUID, Token]:
    return JWTAuth[UUID, Token](
        token_secret=secret,
        retrieve_user_handler=_user_id,
        exclude=PUBLIC_PATHS,
        description="Bearer token from POST /api/v1/auth/token",
    )
