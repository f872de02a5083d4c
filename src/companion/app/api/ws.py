"""The WebSocket at /api/v1/ws: one connection of one user's device, from accept to close.

A connection is accepted, then closed with 4401 unless its token holds
(ws_auth, which keeps checking it while the socket lives), and with 4429 when
the user already holds COMPANION_WS_MAX_SOCKETS_PER_USER sockets (a lease of
adapters.socket_leases, renewed while the socket lives). It belongs to the user's
session (app.session_tracker: one across their sockets and quick reconnects),
subscribes to the user's channel and forwards what arrives there (ws_channels),
and reads client frames until the client leaves or stays silent (not even a
heartbeat) too long. Heartbeats are answered here; the conversation's frames
are served by ws_conversation. When the process is going away a socket is told
to reconnect and closed with 1012 once its turn is done (drain).

Answers meant for this socket only (errors, heartbeats, a resume's missed
messages) go straight to it; everything else goes on the user's channel, so
every device of the user is in step.
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID, uuid4

import anyio
import anyio.to_thread
import structlog
from litestar import WebSocket, websocket
from litestar.channels import Subscriber
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from companion.app.api.auth import token_user
from companion.app.api.drain import CLOSE_SERVICE_RESTART, SERVICE_RESTART, drain_of
from companion.app.api.ws_auth import (
    CLOSE_TOO_MANY_SOCKETS,
    CLOSE_UNAUTHORIZED,
    CONTROL_PREFIX,
    TOKEN_CHANGED,
    TokenWatch,
    presented_token,
)
from companion.app.api.ws_channels import UserChannels, user_channel
from companion.app.api.ws_conversation import SocketConversation
from companion.app.api.ws_frames import (
    FrameLog,
    FrameRefused,
    error_frame,
    frame,
    parse,
    refusal,
)
from companion.app.bootstrap import Companion
from companion.domain.sessions import describe_device

log = structlog.get_logger(__name__)

WS_PATH = "/api/v1/ws"
CLOSE_IDLE = 4408
"""No frame from the client (not even a heartbeat) for COMPANION_WS_IDLE_SECONDS."""

__all__ = ["CLOSE_IDLE", "CLOSE_TOO_MANY_SOCKETS", "CLOSE_UNAUTHORIZED", "WS_PATH", "chat_socket"]


@websocket(WS_PATH, opt={"exclude_from_auth": True})
async def chat_socket(
    socket: WebSocket[Any, Any, Any], channels: NamedDependency[UserChannels]
) -> None:
    """One connection of one user's device."""
    companion: Companion = socket.app.state.companion
    await socket.accept()
    if drain_of(socket.app).draining:
        await socket.close(code=CLOSE_SERVICE_RESTART, reason=SERVICE_RESTART)
        return
    encoded = presented_token(socket)
    user_id = None
    if encoded is not None:
        user_id = await token_user(encoded, socket.app.state.jwt_auth, socket)
    if encoded is None or user_id is None:
        await socket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized")
        return
    leases = companion.socket_leases
    lease = None if leases is None else await anyio.to_thread.run_sync(leases.take, user_id)
    if leases is not None and lease is None:
        await socket.close(code=CLOSE_TOO_MANY_SOCKETS, reason="too_many_sockets")
        return
    try:
        watch = TokenWatch(socket, encoded, user_id, companion.settings.ws_auth_recheck_seconds)
        await _in_session(socket, companion, channels, watch, lease)
    finally:
        if leases is not None and lease is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(leases.give_back, user_id, lease)


async def _in_session(
    socket: WebSocket[Any, Any, Any],
    companion: Companion,
    channels: UserChannels,
    watch: TokenWatch,
    lease: str | None,
) -> None:
    user_id = watch.user_id
    tracker = companion.session_tracker
    assert tracker is not None, "the Companion has no session tracker"
    device = describe_device(socket.headers.get("user-agent"))
    session_id = await anyio.to_thread.run_sync(tracker.opened, user_id, device)
    connection = _Connection(
        socket, companion, SocketConversation(socket, companion, channels, user_id)
    )
    try:
        async with (
            channels.start_subscription([user_channel(user_id)]) as subscriber,
            anyio.create_task_group() as leaving,
        ):
            await socket.send_text(
                frame(
                    "connection_status",
                    {"status": "connected", "user_id": user_id, "session_id": session_id},
                )
            )
            leaving.start_soon(connection.announce_leaving)
            with drain_of(socket.app).holding(connection):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(_forward, subscriber, connection, watch)
                    tasks.start_soon(_guard, connection, watch)
                    if lease is not None:
                        tasks.start_soon(_keep_lease, companion, user_id, lease)
                    await connection.serve()
                    tasks.cancel_scope.cancel()
            leaving.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(tracker.closed, user_id)


async def _forward(subscriber: Subscriber, connection: _Connection, watch: TokenWatch) -> None:
    """The user's channel to the client; control messages are for this socket only."""
    # A client gone mid-turn must not cancel the turn: it is still stored.
    with contextlib.suppress(Exception):
        async for event in subscriber.iter_events():
            text = event.decode("utf-8")
            if text.startswith(CONTROL_PREFIX):
                if text == TOKEN_CHANGED:
                    watch.announced()
                elif text == connection.leave_marker:
                    connection.forwarded.set()
            elif not connection.revoked:
                await connection.socket.send_text(text)


async def _guard(connection: _Connection, watch: TokenWatch) -> None:
    await watch.until_revoked()
    await connection.revoke()


async def _keep_lease(companion: Companion, user_id: UUID, lease: str) -> None:
    leases = companion.socket_leases
    assert leases is not None
    while True:
        await anyio.sleep(leases.lease_seconds / 3)
        await anyio.to_thread.run_sync(leases.renew, user_id, lease)


class _Connection:
    """The client frames of one socket, read one at a time and each answered, until the
    client leaves, stays silent too long, or its token no longer holds."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        companion: Companion,
        conversation: SocketConversation,
    ) -> None:
        self.socket, self.conversation = socket, conversation
        self.settings = companion.settings
        self.revoked = False
        self.leaving = False
        self.asked = anyio.Event()
        self.announced = anyio.Event()
        self.forwarded = anyio.Event()
        """Set when every frame told to the user's channel before `leave_marker` is sent."""
        self.leave_marker = f"{CONTROL_PREFIX}leave:{uuid4().hex}"
        self.frame_log = FrameLog()
        self._reading: anyio.CancelScope | None = None

    async def serve(self) -> None:
        """Read client frames until the client leaves, stays silent too long, is revoked or
        is asked to leave (then closed with 1012 once the frame it serves is answered)."""
        while not self.revoked:
            if self.leaving:
                await self.leave()
                return
            message: Any = None
            with anyio.move_on_after(self.settings.ws_idle_seconds) as self._reading:
                message = await self.socket.receive()
            self._reading = None
            if self.revoked:
                return
            if self.leaving and message is None:
                continue
            if message is None:
                await self.socket.close(code=CLOSE_IDLE, reason="idle")
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            await self.answer(raw if raw is not None else message.get("bytes") or b"")

    def asked_to_leave(self) -> None:
        """The process is going away: stop waiting for the client's next frame."""
        self.leaving = True
        self.asked.set()
        if self._reading is not None:
            self._reading.cancel()

    async def announce_leaving(self) -> None:
        """Tell the client to reconnect, as soon as it is asked to leave."""
        await self.asked.wait()
        with contextlib.suppress(Exception):
            await self.socket.send_text(frame("connection_status", {"status": "reconnect"}))
        self.announced.set()

    async def leave(self) -> None:
        """Close with 1012 after the reconnect frame and every frame of the served turn."""
        await self.announced.wait()
        conversation = self.conversation
        conversation.channels.signal(conversation.user_id, [self.leave_marker])
        with anyio.move_on_after(self.settings.shutdown_drain_seconds):
            await self.forwarded.wait()
        with contextlib.suppress(Exception):
            await self.socket.close(code=CLOSE_SERVICE_RESTART, reason=SERVICE_RESTART)

    async def revoke(self) -> None:
        """The token no longer holds: closed with 4401, nothing more read nor sent."""
        self.revoked = True
        if self._reading is not None:
            self._reading.cancel()
        with contextlib.suppress(Exception):
            await self.socket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized")

    async def answer(self, raw: str | bytes) -> None:
        in_reply_to: str | None = None
        try:
            kind, in_reply_to, payload = parse(raw, self.settings.ws_max_frame_bytes)
            await self.handle(kind, in_reply_to, payload)
        except FrameRefused as refused:
            self.frame_log.refused(refused)
            await self.refuse(refused)
        except WebSocketDisconnect:
            raise
        except Exception as exc:
            if self.revoked:
                return  # closed while it was being served
            known = refusal(exc, in_reply_to)
            if known is None:
                self.frame_log.failed(exc)
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
