"""The WebSocket at /api/v1/ws: one connection of one user's device, from accept to close.

A connection is authenticated before it is accepted (4401 otherwise), is a
session from its start to its end, subscribes to the user's channel and
forwards what arrives there (ws_channels), and reads client frames until the
client leaves or stays silent (not even a heartbeat) too long. Heartbeats are
answered here; the conversation's frames are served by ws_conversation.

Answers meant for this socket only (errors, heartbeats, a resume's missed
messages) go straight to it; everything else goes on the user's channel, so
every device of the user is in step.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any
from uuid import UUID

import anyio
import anyio.to_thread
import structlog
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from companion.app.api.auth import token_user
from companion.app.api.ws_channels import UserChannels, user_channel
from companion.app.api.ws_conversation import SocketConversation
from companion.app.api.ws_frames import FrameRefused, error_frame, frame, parse, refusal
from companion.app.bootstrap import Companion
from companion.domain.sessions import describe_device

log = structlog.get_logger(__name__)

WS_PATH = "/api/v1/ws"
CLOSE_UNAUTHORIZED = 4401
"""A missing, bad, expired or revoked token: closed before any frame."""
CLOSE_IDLE = 4408
"""No frame from the client (not even a heartbeat) for COMPANION_WS_IDLE_SECONDS."""


async def _caller(socket: WebSocket[Any, Any, Any]) -> UUID | None:
    header = socket.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if not header:
        encoded = socket.query_params.get("token", "")
    elif scheme.lower() != "bearer":
        return None
    if not encoded:
        return None
    return await token_user(encoded, socket.app.state.jwt_auth, socket)


@websocket(WS_PATH, opt={"exclude_from_auth": True})
async def chat_socket(
    socket: WebSocket[Any, Any, Any], channels: NamedDependency[UserChannels]
) -> None:
    """One connection of one user's device."""
    companion: Companion = socket.app.state.companion
    user_id = await _caller(socket)
    if user_id is None:
        await socket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized")
        return
    await socket.accept()
    device = describe_device(socket.headers.get("user-agent"))
    start = partial(companion.sessions.start_session, user_id=user_id, device=device)
    session_id = await anyio.to_thread.run_sync(start)
    connection = _Connection(
        socket, companion, SocketConversation(socket, companion, channels, user_id)
    )
    try:
        async with channels.start_subscription([user_channel(user_id)]) as subscriber:
            await socket.send_text(
                frame(
                    "connection_status",
                    {"status": "connected", "user_id": user_id, "session_id": session_id},
                )
            )
            async with anyio.create_task_group() as tasks:

                async def forward() -> None:
                    # A client gone mid-turn must not cancel the turn: it is still stored.
                    with contextlib.suppress(Exception):
                        async for event in subscriber.iter_events():
                            await socket.send_text(event.decode("utf-8"))

                tasks.start_soon(forward)
                await connection.serve()
                tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(companion.sessions.end_session, session_id)


class _Connection:
    """The client frames of one socket, read one at a time and each answered."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        companion: Companion,
        conversation: SocketConversation,
    ) -> None:
        self.socket, self.conversation = socket, conversation
        self.settings = companion.settings

    async def serve(self) -> None:
        """Read client frames until the client leaves or stays silent too long."""
        while True:
            message: Any = None
            with anyio.move_on_after(self.settings.ws_idle_seconds):
                message = await self.socket.receive()
            if message is None:
                await self.socket.close(code=CLOSE_IDLE, reason="idle")
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            await self.answer(raw if raw is not None else message.get("bytes") or b"")

    async def answer(self, raw: str | bytes) -> None:
        in_reply_to: str | None = None
        try:
            kind, in_reply_to, payload = parse(raw, self.settings.ws_max_frame_bytes)
            await self.handle(kind, in_reply_to, payload)
        except FrameRefused as refused:
            await self.refuse(refused)
        except WebSocketDisconnect:
            raise
        except Exception as exc:
            known = refusal(exc, in_reply_to)
            if known is None:
                log.exception("ws.frame_failed")
                known = FrameRefused("internal_error", "the frame could not be served", in_reply_to)
            await self.refuse(known)

    async def refuse(self, refused: FrameRefused) -> None:
        await self.socket.send_text(
            error_frame(refused.code, refused.detail, refused.in_reply_to, **refused.extra)
        )

    async def handle(self, kind: str, in_reply_to: str | None, payload: Any) -> None:
        conversation = self.conversation
        if kind == "heartbeat":
            await self.socket.send_text(frame("heartbeat", {"in_reply_to": in_reply_to}))
        elif kind == "chat_message":
            await conversation.chat(payload, in_reply_to)
        elif kind == "message_read":
            await conversation.read(payload)
        elif kind == "avatar_customization":
            await conversation.customize(payload)
        elif kind == "regenerate":
            await conversation.regenerate(payload, in_reply_to)
        elif kind == "resume":
            await conversation.resume(payload, in_reply_to)
