"""A socket holds only while its token does: checked at the handshake and for as long as it lives.

The token comes in `Authorization: Bearer <token>` (that exact scheme) or as
the `token` query parameter. A socket whose token is missing, bad, expired or
revoked is accepted and closed at once with 4401, before any frame.

An open socket checks its token again (TokenWatch):
- when it expires, on a timer to the token's `exp`;
- when the user's tokens change (a new password, the user forgotten):
  `announce_token_change` puts a control message on the user's channel, which
  reaches every socket of the user on every process (through Redis when it is
  configured); each checks its own token then, and again for a few seconds in
  case the read model it checks against lags. Control messages are never
  passed on to the client;
- every `ws_auth_recheck_seconds`, for revocations no announcement reaches
  (the CLI, a process without Redis).
When the token no longer holds, the socket is closed with 4401 and serves
nothing more.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import anyio
import structlog
from litestar import WebSocket
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import JWTAuth, Token

from companion.app.api.auth import token_user
from companion.app.api.ws_channels import UserChannels

log = structlog.get_logger(__name__)

CLOSE_UNAUTHORIZED = 4401
"""A missing, bad, expired or revoked token: closed before any frame, or once it no longer holds."""
CLOSE_TOO_MANY_SOCKETS = 4429
"""The user already holds COMPANION_WS_MAX_SOCKETS_PER_USER open sockets."""

CONTROL_PREFIX = "control:"
"""Texts on a user's channel starting so are for the sockets, never for the client."""
TOKEN_CHANGED = CONTROL_PREFIX + "token_changed"
AFTER_ANNOUNCEMENT_SECONDS = 5.0
"""How long after an announcement a socket keeps checking, while the read models catch up."""
AFTER_ANNOUNCEMENT_EVERY = 0.5
EXPIRY_SLACK_SECONDS = 0.05


def presented_token(socket: WebSocket[Any, Any, Any]) -> str | None:
    """The token the client presents: the Authorization header's, else `?token=`."""
    header = socket.headers.get("authorization", "")
    if not header:
        return socket.query_params.get("token") or None
    scheme, _, encoded = header.partition(" ")
    if scheme != "Bearer" or not encoded:
        return None
    return encoded


def announce_token_change(channels: UserChannels, user_id: UUID) -> None:
    """Every open socket of the user, on every process, checks its token again now.

    From the event loop or any thread. When it cannot be announced (the channels
    not started), the sockets' periodic check still closes them."""
    try:
        channels.signal(user_id, [TOKEN_CHANGED])
    except RuntimeError as error:
        log.warning("ws.token_change_unannounced", user_id=str(user_id), error=str(error))


def expires_at(encoded: str, auth: JWTAuth[UUID, Token]) -> float:
    """When a token (already found good) expires, in seconds since the epoch."""
    try:
        token = Token.decode(encoded, auth.token_secret, auth.algorithm)
    except NotAuthorizedException:
        return 0.0
    return token.exp.timestamp()


class TokenWatch:
    """The token of one open socket, checked until it no longer holds."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        encoded: str,
        user_id: UUID,
        recheck_seconds: float,
    ) -> None:
        self.socket, self.encoded, self.user_id = socket, encoded, user_id
        self.recheck_seconds = recheck_seconds
        self.auth: JWTAuth[UUID, Token] = socket.app.state.jwt_auth
        self.expires_at = expires_at(encoded, self.auth)
        self._announced = anyio.Event()

    def announced(self) -> None:
        """The user's tokens changed: check this one now."""
        self._announced.set()

    async def holds(self) -> bool:
        """Whether the token is still good; a check that cannot be made (the store
        unreachable) keeps the socket, the next one decides."""
        if time.time() >= self.expires_at:
            return False
        try:
            return await token_user(self.encoded, self.auth, self.socket) == self.user_id
        except Exception as error:
            log.warning("ws.token_check_failed", error=type(error).__name__)
            return True

    async def until_revoked(self) -> None:
        """Returns once the token no longer holds."""
        checking_until = 0.0
        while True:
            wait = min(
                self.recheck_seconds,
                max(self.expires_at - time.time(), 0.0) + EXPIRY_SLACK_SECONDS,
            )
            if time.monotonic() < checking_until:
                wait = min(wait, AFTER_ANNOUNCEMENT_EVERY)
            with anyio.move_on_after(wait):
                await self._announced.wait()
            if self._announced.is_set():
                self._announced = anyio.Event()
                checking_until = time.monotonic() + AFTER_ANNOUNCEMENT_SECONDS
            if not await self.holds():
                return
