"""The channels between sockets: every frame meant for a user goes on the user's channel.

Each socket of a user forwards what its subscription to `user:{id}` receives,
so every device of the user sees the frame once; control messages for the
sockets themselves (a token changed, see ws_auth) travel the same way and are
never forwarded. `UserChannels.tell` puts
frames there from the event loop or from any thread (a REST handler and the
daily-life scheduler run in threads of their own).

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
from uuid import UUID, uuid4

import redis
import redis.asyncio
import redis.exceptions
import structlog
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.app import AppConfig

from companion.app.api.ws_frames import Frame, day_frames, frame
from companion.app.daily_life import DayLived
from companion.app.settings import Settings

log = structlog.get_logger(__name__)

KEY_PREFIX = "companion:ws:"
"""The channels' prefix when none is given; a deployment's is its Redis prefix + "ws:"."""
REDIS_RETRY_SECONDS = 1.0
_ORIGIN_BYTES = 32
_REDIS_DOWN = (redis.exceptions.RedisError, OSError)


def channels_prefix(settings: Settings) -> str:
    """The prefix of this deployment's socket channels on Redis."""
    return settings.resolved_redis_prefix() + "ws:"


def channels_plugin(settings: Settings) -> UserChannels:
    """The fan-out between sockets: through Redis when it is configured, else in memory."""
    backend: ChannelsBackend = (
        FanOutBackend(settings.redis_url, channels_prefix(settings))
        if settings.redis_url
        else MemoryChannelsBackend()
    )
    return UserChannels(backend=backend, arbitrary_channels_allowed=True)


def user_channel(user_id: UUID) -> str:
    return f"user:{user_id}"


class UserChannels(ChannelsPlugin):
    """The channels plugin, which also sends the days the daily-life scheduler of this
    process makes happen to their users' sockets (daily_event, then the mood's frames)."""

    _loop: asyncio.AbstractEventLoop | None = None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config = super().on_app_init(app_config)
        app_config.on_startup.append(self._started)
        app_config.on_shutdown.append(self._stop_announcing)
        return app_config

    def tell(self, user_id: UUID, frames: Iterable[Frame]) -> None:
        """Frames to every open socket of the user, in this order; from any thread.

        The plugin's queue belongs to the event loop: a caller in another thread
        hands the frames to the loop, which publishes them in the order handed."""
        self.signal(user_id, [frame(kind, payload) for kind, payload in frames])

    def signal(self, user_id: UUID, texts: list[str]) -> None:
        """Texts as they are to every open socket of the user, in this order; from any thread.

        Frames go through `tell`; a text that is not a frame is a control message
        for the sockets themselves (ws_auth's), which they never pass on."""
        channel = user_channel(user_id)
        if self._loop is None:
            raise RuntimeError("the channels are not started")
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._publish(texts, channel)
        else:
            self._loop.call_soon_threadsafe(self._publish, texts, channel)

    def _publish(self, texts: list[str], channel: str) -> None:
        for text in texts:
            self.publish(text, [channel])

    async def _started(self, app: Litestar) -> None:
        self._loop = asyncio.get_running_loop()
        scheduler = getattr(app.state.companion, "daily_life", None)
        if scheduler is None:
            return

        def announce(lived: DayLived) -> None:
            # Called in the scheduler's thread; tell hands the frames to the loop.
            if lived.life is not None:
                self.tell(lived.life.user_id, day_frames(lived.life, lived.emotion, lived.before))

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


def redis_day_announcer(client: redis.Redis, key_prefix: str) -> Callable[[DayLived], None]:
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
