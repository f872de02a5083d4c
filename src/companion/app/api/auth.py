"""Bearer tokens (JWT) for the API, from the header or, on the WebSocket, ?token=."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from companion.domain.errors import UserNotFound

SCHEME = "Bearer"
PUBLIC_PATHS = ["/api/v1/auth/", "/health", "/ready", "/schema", "/api/v1/webhooks/"]
TOKEN_VERSION_CLAIM = "ver"
"""The user's token version when the token was issued; see User.token_version."""


async def _user_id(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> UUID | None:
    """The caller, if the token is still good: not forgotten, not issued before a new password."""
    try:
        user_id = UUID(token.sub)
    except ValueError:
        return None
    companion = connection.app.state.companion
    version = token.extras.get(TOKEN_VERSION_CLAIM, 0)
    view = await anyio.to_thread.run_sync(companion.read_models.users.get, companion.views, user_id)
    if view is None:
        # The users read model has not caught up with this user yet: the write side
        # knows. (Only in the moment between registration and its projection.)
        try:
            user = await anyio.to_thread.run_sync(companion.accounts.user, user_id)
        except UserNotFound:
            return None
        current = user.token_version
    elif view.forgotten:
        return None
    else:
        current = view.token_version
    return user_id if version == current else None


async def token_user(
    encoded: str, auth: JWTAuth[UUID, Token], connection: ASGIConnection[Any, Any, Any, Any]
) -> UUID | None:
    """The caller of a raw token (the WebSocket's), checked as the middleware checks one."""
    try:
        token = Token.decode(encoded, auth.token_secret, auth.algorithm)
    except NotAuthorizedException:
        return None
    return await _user_id(token, connection)


class BearerAuthenticationMiddleware(JWTAuthenticationMiddleware):
    """Takes the token only from `Authorization: Bearer <token>`, exactly.

    Litestar's own middleware takes whatever follows the first space, whatever
    the scheme before it; API.md names one scheme.
    """

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, encoded = connection.headers.get(self.auth_header, "").partition(" ")
        if scheme != SCHEME or not encoded or encoded != encoded.strip() or " " in encoded:
            raise NotAuthorizedException("a bearer token is required")
        return await self.authenticate_token(encoded_token=encoded, connection=connection)


def jwt_auth(secret: str) -> JWTAuth[UUID, Token]:
    return JWTAuth[UUID, Token](
        token_secret=secret,
        retrieve_user_handler=_user_id,
        authentication_middleware_class=BearerAuthenticationMiddleware,
        require_claims=["sub", "exp", "iat"],
        exclude=PUBLIC_PATHS,
        description="Bearer token from POST /api/v1/auth/token",
    )
