"""The WebSocket at /api/v1/ws: chat turns streamed, and every device of a user in step.

Every conversation frame (the ack, typing, the reply's deltas, emotion, mood
and expression, a day's event) is published on the user's channel; each socket
of that user forwards what its subscription receives, so the sender's own
socket sees a frame once and another device sees the same turn. Answers meant
for one socket only (errors, heartbeats, a resume's missed messages) go
straight to it.

Client frames: chat_message, regenerate, message_read, avatar_customization,
heartbeat and resume {character_id, last_message_id?} (answered with a `resume`
frame of the messages after that one, oldest first). chat_message and
regenerate count against the user's message limits (app.message_limits) before
anything is stored.

Across processes (COMPANION_REDIS_URL set), frames travel through Redis pub/sub
on `companion:ws:user:{id}`, and Redis going away must not silence a process's
own sockets. So `FanOutBackend` delivers every frame it publishes locally at
once, and also publishes it to Redis tagged with this process's origin id; the
frames it hears back from Redis with its own tag are dropped (they were already
delivered), those of other processes are delivered. A socket thus sees every
frame exactly once while Redis works. One listener task keeps a pattern
subscription to `companion:ws:*` (so a reconnect has no per-channel state to
restore; the plugin hands a frame only to the sockets subscribed to its user);
when Redis fails (a read, a publish or a health-check), it logs one warning
`ws.redis_lost`, stops publishing there, and retries every second; once it is
subscribed again it logs `ws.redis_back`. Frames of other processes published
while Redis was down are lost to this one; a client catches up with `resume`.
Without COMPANION_REDIS_URL the plugin keeps Litestar's in-memory backend.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Iterable
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import anyio
import anyio.to_thread
import redis
import redis.asyncio
import redis.exceptions
import structlog
from litestar import Litestar, WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.app import AppConfig
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from companion.app.api.auth import token_user
from companion.app.api.ws_frames import (
    AvatarCustomizationIn,
    ChatMessageIn,
    FrameRefused,
    MessageReadIn,
    RegenerateIn,
    ResumeIn,
    day_frames,
    error_frame,
    frame,
    mood_frames,
    parse,
    refusal,
)
from companion.app.application import AlternativeReply, ChatTurn, TurnAccepted, TurnDone
from companion.app.bootstrap import Companion
from companion.app.daily_life import DayLived
from companion.app.settings import Settings
from companion.domain.chat import ChatDelta, ChatRestart
from companion.domain.errors import CharacterNotFound, MessageNotFound
from companion.domain.identity import conversation_id, reply_id
from companion.domain.sessions import describe_device

log = structlog.get_logger(__name__)

WS_PATH = "/api/v1/ws"
CLOSE_UNAUTHORIZED = 4401
"""A missing, bad, expired or revoked token: closed before any frame."""
CLOSE_IDLE = 4408
"""No frame from the client (not even a heartbeat) for COMPANION_WS_IDLE_SECONDS."""
RESUME_PAGE = 100
RESUME_MOST = 500
"""The most messages a resume sends back; a client further behind pages over REST."""


KEY_PREFIX = "companion:ws:"
REDIS_RETRY_SECONDS = 1.0
_ORIGIN_BYTES = 32
_REDIS_DOWN = (redis.exceptions.RedisError, OSError)


READ_MODELS_OF_A_TURN = ["conversations", "emotion_states", "memories"]


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    """The fan-out between sockets: through Redis when it is configured, else in memory."""
    backend: ChannelsBackend = (
        FanOutBackend(settings.redis_url) if settings.redis_url else MemoryChannelsBackend()
    )
    return UserChannels(backend=backend, arbitrary_channels_allowed=True)


class UserChannels(ChannelsPlugin):
    """The channels plugin, which also sends the days the daily-life scheduler of this
    process makes happen to their users' sockets (daily_event, then the mood's frames)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config = super().on_app_init(app_config)
        app_config.on_startup.append(self._announce_days)
        app_config.on_shutdown.append(self._stop_announcing)
        return app_config

    async def _announce_days(self, app: Litestar) -> None:
        scheduler = getattr(app.state.companion, "daily_life", None)
        if scheduler is None:
            return
        loop = asyncio.get_running_loop()

        def announce(lived: DayLived) -> None:
            # Called in the scheduler's thread: the frames are made there, sent from the loop.
            if lived.life is None:
                return
            channel = user_channel(lived.life.user_id)
            for kind, payload in day_frames(lived.life, lived.emotion, lived.before):
                loop.call_soon_threadsafe(self.publish, frame(kind, payload), [channel])

        scheduler.announce = announce

    async def _stop_announcing(self, app: Litestar) -> None:
        scheduler = getattr(app.state.companion, "daily_life", None)
        if scheduler is not None:
            scheduler.announce = None


class FanOutBackend(ChannelsBackend):
    """This process's frames delivered locally at once, everyone's through Redis pub/sub."""

    def __init__(
        self,
        redis_url: str,
        key_prefix: str = KEY_PREFIX,
        retry_seconds: float = REDIS_RETRY_SECONDS,
    ) -> None:
        self._url, self._prefix, self._retry = redis_url, key_prefix, retry_seconds
        self._origin = uuid4().hex.encode("ascii")
        self._channels: set[str] = set()
        self._up: bool | None = None  # None until the first attempt
        self._queue: asyncio.Queue[tuple[str, bytes]] | None = None
        self._redis: redis.asyncio.Redis | None = None
        self._listener: asyncio.Task[None] | None = None

    async def on_startup(self) -> None:
        self._queue = asyncio.Queue()
        self._redis = redis.asyncio.Redis.from_url(
            self._url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=5
        )
        self._listener = asyncio.create_task(self._listen())

    async def on_shutdown(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    async def subscribe(self, channels: Iterable[str]) -> None:
        self._channels.update(channels)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        self._channels.difference_update(channels)

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        channels = list(channels)
        assert self._queue is not None
        assert self._redis is not None
        for channel in channels:
            if channel in self._channels:
                self._queue.put_nowait((channel, data))
        if not self._up:
            return
        try:
            for channel in channels:
                await self._redis.publish(self._prefix + channel, self._origin + data)
        except _REDIS_DOWN as exc:
            self._lost(exc)

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        assert self._queue is not None
        while True:
            yield await self._queue.get()

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError

    async def _listen(self) -> None:
        """Subscribed to every user's channel while Redis answers; reconnecting when not."""
        assert self._redis is not None
        assert self._queue is not None
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(self._prefix + "*")
                if self._up is False:
                    log.info("ws.redis_back")
                self._up = True
                while self._up:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message is None or message["type"] != "pmessage":
                        continue
                    data: bytes = message["data"]
                    channel = message["channel"].decode()[len(self._prefix) :]
                    if data[:_ORIGIN_BYTES] != self._origin and channel in self._channels:
                        self._queue.put_nowait((channel, data[_ORIGIN_BYTES:]))
            except _REDIS_DOWN as exc:
                self._lost(exc)
            finally:
                with contextlib.suppress(*_REDIS_DOWN):
                    await pubsub.aclose()
            await asyncio.sleep(self._retry)

    def _lost(self, exc: BaseException) -> None:
        if self._up is not False:
            log.warning("ws.redis_lost", error=type(exc).__name__, retry_seconds=self._retry)
        self._up = False


def user_channel(user_id: UUID) -> str:
    return f"user:{user_id}"


def redis_day_announcer(
    client: redis.Redis, key_prefix: str = KEY_PREFIX
) -> Callable[[DayLived], None]:
    """For a process without sockets (the projection worker, where the daily-life
    scheduler runs when projections are not embedded): the frames of the days it
    lives, published to Redis as FanOutBackend publishes them, under an origin of
    its own, so that every API process delivers them to the user's sockets."""
    origin = uuid4().hex.encode("ascii")

    def announce(lived: DayLived) -> None:
        if lived.life is None:
            return
        channel = key_prefix + user_channel(lived.life.user_id)
        for kind, payload in day_frames(lived.life, lived.emotion, lived.before):
            client.publish(channel, origin + frame(kind, payload).encode("utf-8"))

    return announce


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
    socket: WebSocket[Any, Any, Any], channels: NamedDependency[ChannelsPlugin]
) -> None:
    """One connection of one user's device."""
    companion: Companion = socket.app.state.companion
    user_id = await _caller(socket)
    if user_id is None:
        await socket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized")
        return
    await socket.accept()
    device = describe_device(socket.headers.get("user-agent"))
    start = partial(companion.application.start_session, user_id=user_id, device=device)
    session_id = await anyio.to_thread.run_sync(start)
    connection = _Connection(socket, companion, channels, user_id)
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
            await anyio.to_thread.run_sync(companion.application.end_session, session_id)


class _Connection:
    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        companion: Companion,
        channels: ChannelsPlugin,
        user_id: UUID,
    ) -> None:
        self.socket, self.companion, self.channels = socket, companion, channels
        self.user_id = user_id
        self.settings = companion.settings

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """A conversation frame, to every socket of this user (this one included)."""
        self.channels.publish(frame(kind, payload), [user_channel(self.user_id)])

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
        if kind == "heartbeat":
            await self.socket.send_text(frame("heartbeat", {"in_reply_to": in_reply_to}))
        elif kind == "chat_message":
            await self.chat(payload, in_reply_to)
        elif kind == "message_read":
            await self.read(payload)
        elif kind == "avatar_customization":
            await self.customize(payload)
        elif kind == "regenerate":
            await self.regenerate(payload, in_reply_to)
        elif kind == "resume":
            await self.resume(payload, in_reply_to)

    async def chat(self, message: ChatMessageIn, in_reply_to: str | None) -> None:
        """A streamed turn, counted against the user's message limits before anything is
        stored (a refused one is an error frame rate_limited with retry_after); a retry of
        a stored message is answered without being counted."""
        character_id = message.character_id
        turn = self.companion.application.send_message_streaming(
            user_id=self.user_id,
            character_id=character_id,
            text=message.text,
            client_message_id=message.client_message_id,
            limits=self.companion.message_limits,
        )
        reply_message_id: UUID | None = None
        async for step in turn:
            if isinstance(step, TurnAccepted):
                reply_message_id = reply_id(step.message_id)
                self.publish(
                    "chat_message",
                    {
                        "character_id": character_id,
                        "message_id": step.message_id,
                        "sender": "user",
                        "text": message.text,
                        "client_message_id": message.client_message_id,
                        "in_reply_to": in_reply_to,
                    },
                )
                self.publish("typing_indicator", {"character_id": character_id, "typing": True})
            elif isinstance(step, ChatDelta):
                self.publish(
                    "chat_response",
                    {
                        "character_id": character_id,
                        "message_id": reply_message_id,
                        "delta": step.text,
                        "done": False,
                    },
                )
            elif isinstance(step, ChatRestart):
                self.publish(
                    "chat_response",
                    {
                        "character_id": character_id,
                        "message_id": reply_message_id,
                        "delta": "",
                        "restart": True,
                        "done": False,
                    },
                )
            elif isinstance(step, TurnDone):
                position = step.turn.position
                self.publish(
                    "chat_response",
                    {
                        "character_id": character_id,
                        "message_id": step.turn.reply_message_id,
                        "in_reply_to": step.turn.user_message_id,
                        "delta": "",
                        "text": step.turn.reply_text,
                        "done": True,
                        "position": position,
                        "consistency": await self.consistency(position),
                    },
                )
                await self.emotion(character_id, step.turn)

    async def consistency(self, position: int | None) -> str:
        """Whether the read models already show the turn, without waiting for them.

        The final frame goes out as soon as the reply is stored: the socket has
        the reply itself, and holding it for the read models would put their lag
        on every turn. `applied` means a REST read now shows the turn; `pending`
        means it may not yet, and a read that sends the frame's `position` in
        X-Consistency-Position waits for it (read_after.py)."""
        applied = await anyio.to_thread.run_sync(
            self.companion.runner.wait_for, position, READ_MODELS_OF_A_TURN, 0.0
        )
        return "applied" if applied else "pending"

    async def emotion(self, character_id: UUID, turn: ChatTurn) -> None:
        """The turn's mood frames: emotion_change is what the turn's own MoodChanged moved
        from and to, whatever another device's turn saved just before or after it, so the
        changes of concurrent turns chain. A turn that repeats a stored one changed
        nothing: the mood as it is, without emotion_change."""
        state, before = turn.emotion, turn.before
        if state is None:
            state = await anyio.to_thread.run_sync(
                self.companion.application.emotion_state, self.user_id, character_id
            )
            if state is None:
                return
            before = (state.mood, state.expression.name)
        for kind, payload in mood_frames(character_id, state, before):
            self.publish(kind, payload)

    async def regenerate(self, change: RegenerateIn, in_reply_to: str | None) -> None:
        """Another take of the latest reply (a swipe), counted as a message; every device
        gets it as a final chat_response with its alternative's number."""
        limits = self.companion.message_limits
        made = partial(
            self.companion.application.regenerate_reply,
            user_id=self.user_id,
            character_id=change.character_id,
            message_id=change.message_id,
        )

        def counted() -> AlternativeReply:
            if limits is None:
                return made()
            with limits.sending(self.user_id):
                return made()

        reply = await anyio.to_thread.run_sync(counted)
        self.publish(
            "chat_response",
            {
                "character_id": change.character_id,
                "message_id": reply.message_id,
                "in_reply_to": in_reply_to,
                "delta": "",
                "text": reply.text,
                "alternative": reply.alternative,
                "alternatives": reply.alternatives,
                "done": True,
                "position": reply.position,
                "consistency": await self.consistency(reply.position),
            },
        )

    async def read(self, read: MessageReadIn) -> None:
        mark = partial(
            self.companion.application.mark_read,
            user_id=self.user_id,
            character_id=read.character_id,
            message_id=read.message_id,
        )
        await anyio.to_thread.run_sync(mark)
        self.publish(
            "message_read", {"character_id": read.character_id, "message_id": read.message_id}
        )

    async def customize(self, change: AvatarCustomizationIn) -> None:
        equip = partial(
            self.companion.commerce.equip,
            user_id=self.user_id,
            character_id=change.character_id,
            slot=change.slot,
            item_id=change.item_id,
        )
        await anyio.to_thread.run_sync(equip)
        self.publish(
            "avatar_customization",
            {"character_id": change.character_id, "slot": change.slot, "item_id": change.item_id},
        )

    async def resume(self, resume: ResumeIn, in_reply_to: str | None) -> None:
        missed = await anyio.to_thread.run_sync(self.missed, resume)
        await self.socket.send_text(
            frame(
                "resume",
                {
                    "character_id": resume.character_id,
                    "in_reply_to": in_reply_to,
                    "messages": missed,
                },
            )
        )

    def missed(self, resume: ResumeIn) -> list[dict[str, Any]]:
        """The messages after the client's last one, oldest first, from the read model."""
        companion = self.companion
        owned = companion.read_models.characters.get(
            companion.views, self.user_id, resume.character_id
        )
        if owned is None:
            raise CharacterNotFound("no such character")
        conv_id = conversation_id(self.user_id, resume.character_id)
        newer: list[dict[str, Any]] = []
        before: UUID | None = None
        while len(newer) < RESUME_MOST:
            page = companion.read_models.conversations.messages(
                companion.views, conv_id, before=before, limit=RESUME_PAGE
            )
            for message in page.messages:
                if message.message_id == resume.last_message_id:
                    return newer[::-1]
                newer.append(
                    {
                        "message_id": message.message_id,
                        "sender": message.sender,
                        "text": message.text,
                        "created_at": message.created_at.isoformat(),
                    }
                )
            if page.next_before is None:
                break
            before = page.next_before
        if resume.last_message_id is not None:
            raise MessageNotFound("last_message_id is not a message of this conversation")
        return newer[::-1]
