"""How many WebSockets one user holds open, capped across processes.

Each open socket holds a lease: in Redis when there is one (a sorted set per
user under `<prefix>sockets:<user>`, each lease scored with the time it
expires), else in this process. A socket renews its lease while it lives and
gives it back when it closes; a process killed with sockets open leaves
leases that expire within `lease_seconds`, so no slot leaks for long. Taking a
lease is one Lua script (expired leases dropped, the rest counted, the new one
added if there is room), so sockets opening at once on several processes
cannot all get the last slot.

While Redis is down, sockets are counted in this process only (one warning,
`ws.sockets.redis_unavailable`, and one line when it is back).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from uuid import UUID, uuid4

import redis

from companion.adapters.redis_outage import RedisOutage

LEASE_SECONDS = 30.0
"""How long a lease holds without being renewed; sockets renew it every third of that."""
REDIS_RECHECK_SECONDS = 5.0

_TAKE = """
local key, now, expires, cap = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= cap then
  return 0
end
redis.call('ZADD', key, expires, ARGV[4])
redis.call('PEXPIRE', key, ARGV[5])
return 1
"""


class SocketLeases:
    """Leases on a user's socket slots, at most `cap` at a time. Thread-safe."""

    def __init__(
        self,
        cap: int,
        client: redis.Redis | None = None,
        *,
        prefix: str = "companion:sockets:",
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cap, self.lease_seconds = cap, lease_seconds
        self._client, self._prefix, self._clock = client, prefix, clock
        self._take = client.register_script(_TAKE) if client is not None else None
        self._outage = RedisOutage("ws.sockets", REDIS_RECHECK_SECONDS)
        self._here: dict[UUID, set[str]] = {}
        self._lock = threading.Lock()

    def take(self, user_id: UUID) -> str | None:
        """A lease on one of the user's slots, or None when all of them are held."""
        lease = uuid4().hex
        shared = self._shared(lambda: self._take_shared(user_id, lease))
        with self._lock:
            held = self._here.setdefault(user_id, set())
            if shared is False or (shared is None and len(held) >= self.cap):
                if not held:
                    del self._here[user_id]
                return None
            held.add(lease)
        return lease

    def renew(self, user_id: UUID, lease: str) -> None:
        """The socket still lives: its lease holds for another `lease_seconds`."""
        self._shared(lambda: self._put_shared(user_id, lease))

    def give_back(self, user_id: UUID, lease: str) -> None:
        """The socket closed: its slot is free."""
        with self._lock:
            held = self._here.get(user_id, set())
            held.discard(lease)
            if not held:
                self._here.pop(user_id, None)
        self._shared(lambda: self._drop_shared(user_id, lease))

    def _shared(self, call: Callable[[], bool | None]) -> bool | None:
        """The answer of Redis, or None without Redis or while it is down."""
        if self._client is None or self._outage.skipping():
            return None
        try:
            answer = call()
        except redis.RedisError as error:
            self._outage.failed(error)
            return None
        self._outage.works()
        return answer

    def _key(self, user_id: UUID) -> str:
        return f"{self._prefix}{user_id}"

    def _take_shared(self, user_id: UUID, lease: str) -> bool:
        assert self._take is not None
        now = self._clock()
        ttl_ms = int(self.lease_seconds * 1000)
        taken = self._take(
            keys=[self._key(user_id)],
            args=[now, now + self.lease_seconds, self.cap, lease, ttl_ms],
        )
        return bool(taken)

    def _put_shared(self, user_id: UUID, lease: str) -> None:
        assert self._client is not None
        key = self._key(user_id)
        pipeline = self._client.pipeline()
        pipeline.zadd(key, {lease: self._clock() + self.lease_seconds})
        pipeline.pexpire(key, int(self.lease_seconds * 1000))
        pipeline.execute()

    def _drop_shared(self, user_id: UUID, lease: str) -> None:
        assert self._client is not None
        self._client.zrem(self._key(user_id), lease)
