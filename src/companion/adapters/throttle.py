"""Failed-login limits (the `LoginThrottle` port): in this process, or shared through Redis.

Both keep, per account and per client address, the times of the failures within
the last `window_seconds` (a sliding window, not fixed slots: a burst at the end
of one slot and the start of the next cannot double the allowance). When a key
holds its limit, the wait is the time until its oldest counted failure leaves
the window.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

import redis
import structlog

from companion.adapters.redis_outage import RedisOutage

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
"""Seconds since the epoch; processes sharing Redis must share it, hence wall time."""

REDIS_PREFIX = "companion:throttle:"


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_per_account: int = 5
    failures_per_address: int = 20
    window_seconds: int = 15 * 60

    def __post_init__(self) -> None:
        if min(self.failures_per_account, self.failures_per_address, self.window_seconds) < 1:
            raise ValueError("throttle limits and window must be at least 1")

    def counters(self, account: str, address: str | None) -> list[tuple[str, int]]:
        """The counters an attempt touches, each with its limit: account first."""
        counters = [(f"account:{_digest(account)}", self.failures_per_account)]
        if address is not None:
            counters.append((f"address:{_digest(address)}", self.failures_per_address))
        return counters


def _digest(value: str) -> str:
    # Counters then hold neither emails nor addresses (in memory or in Redis), and
    # stay small whatever a client sends as its email.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryLoginThrottle:
    """Counts in this process only: right for one API process, and for tests.

    Thread-safe. Memory stays bounded: counters whose failures have all left the
    window are dropped as new ones come, and beyond `max_counters` the least
    recently failed are dropped (losing their counts) first.
    """

    def __init__(
        self,
        policy: ThrottlePolicy | None = None,
        *,
        clock: Clock = time.time,
        max_counters: int = 100_000,
    ) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._max_counters = max_counters
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many counters are held (for tests and metrics)."""
        with self._lock:
            return len(self._failures)

    def admit(self, *, account: str, address: str | None) -> int:
        now = self._clock()
        counters = self.policy.counters(account, address)
        with self._lock:
            self._drop_expired(now)
            wait = max(self._wait(key, limit, now) for key, limit in counters)
            if wait:
                return wait
            for key, limit in counters:
                failures = self._failures.setdefault(key, deque(maxlen=limit))
                failures.append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self._max_counters:
                self._failures.popitem(last=False)
            return 0

    def succeeded(self, *, account: str, address: str | None) -> None:
        account_key, *address_keys = (key for key, _ in self.policy.counters(account, address))
        with self._lock:
            self._failures.pop(account_key, None)
            self._take_back(address_keys)

    def withdraw(self, *, account: str, address: str | None) -> None:
        with self._lock:
            self._take_back([key for key, _ in self.policy.counters(account, address)])

    def _wait(self, key: str, limit: int, now: float) -> int:
        failures = self._failures.get(key)
        if failures is None:
            return 0
        while failures and failures[0] <= now - self.policy.window_seconds:
            failures.popleft()
        if len(failures) < limit:
            return 0
        return max(1, math.ceil(failures[-limit] + self.policy.window_seconds - now))

    def _take_back(self, keys: list[str]) -> None:
        for key in keys:
            failures = self._failures.get(key)
            if failures:
                failures.pop()
            if not failures:
                self._failures.pop(key, None)

    def _drop_expired(self, now: float) -> None:
        # The first counter is the one that failed least recently: once its last
        # failure is out of the window, it counts nothing.
        horizon = now - self.policy.window_seconds
        while self._failures:
            oldest = next(iter(self._failures.values()))
            if oldest and oldest[-1] > horizon:
                return
            self._failures.popitem(last=False)


# KEYS: the counters. ARGV: now, window (seconds), a unique member, then each
# counter's limit. Refuses (answering the wait) without counting when any
# counter is full; otherwise counts the attempt on every counter. One script,
# so processes admitting at the same moment cannot all see room for one more.
_ADMIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local limit = tonumber(ARGV[3 + i])
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local free_in = math.max(1, math.ceil(tonumber(oldest[2]) + window - now))
    if free_in > wait then wait = free_in end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('EXPIRE', key, math.ceil(window))
end
return 0
"""


class RedisLoginThrottle:
    """Counts in Redis, shared by every API process: sorted sets of failure times
    under `companion:throttle:`, expiring a window after their last failure.

    While Redis cannot be reached, logins are neither refused nor let through
    unlimited: the counting falls back to this process's memory (per-process
    limits), with a warning when that starts and a note when Redis is back.
    Refusing every login during a Redis outage would turn a cache failure into
    an outage of sign-in, and the password hash still guards every attempt.
    After a failure Redis is asked again only `recheck_seconds` later, so that
    logins do not each wait out the client's timeouts and retries meanwhile.
    """

    def __init__(
        self,
        client: redis.Redis,
        policy: ThrottlePolicy | None = None,
        *,
        clock: Clock = time.time,
        prefix: str = REDIS_PREFIX,
        recheck_seconds: float = 5.0,
    ) -> None:
        self.policy = policy or ThrottlePolicy()
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._admit = client.register_script(_ADMIT)
        self.fallback = MemoryLoginThrottle(self.policy, clock=clock)
        self._outage = RedisOutage("login_throttle", recheck_seconds)

    def admit(self, *, account: str, address: str | None) -> int:
        counters = self.policy.counters(account, address)
        if self._outage.skipping():
            return self.fallback.admit(account=account, address=address)
        try:
            wait = self._admit(
                keys=[self._key(key) for key, _ in counters],
                args=[
                    repr(self._clock()),
                    self.policy.window_seconds,
                    uuid.uuid4().hex,
                    *(limit for _, limit in counters),
                ],
            )
        except redis.RedisError as error:
            self._outage.failed(error)
            return self.fallback.admit(account=account, address=address)
        self._outage.works()
        return int(wait)

    def succeeded(self, *, account: str, address: str | None) -> None:
        account_key, *address_keys = (
            self._key(k) for k, _ in self.policy.counters(account, address)
        )
        try:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(account_key)
                for key in address_keys:
                    pipe.zpopmax(key)
                pipe.execute()
        except redis.RedisError as error:
            self._outage.failed(error)
        self.fallback.succeeded(account=account, address=address)

    def withdraw(self, *, account: str, address: str | None) -> None:
        if self._outage.skipping():
            self.fallback.withdraw(account=account, address=address)
            return
        try:
            with self._client.pipeline(transaction=True) as pipe:
                for key, _ in self.policy.counters(account, address):
                    pipe.zpopmax(self._key(key))
                pipe.execute()
        except redis.RedisError as error:
            self._outage.failed(error)
        self.fallback.withdraw(account=account, address=address)

    def _key(self, counter: str) -> str:
        return self._prefix + counter
