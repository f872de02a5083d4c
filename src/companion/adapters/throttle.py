"""Named throttles (the `Throttle` port): in this process, or shared through Redis.

One implementation serves every throttle: failed logins, wrong current
passwords, sign-ups, checkouts. Each is a `ThrottlePolicy` with its own name
(its counters never meet another's) and limits. Both keep, per account and per
client address, the times of the attempts within the last `window_seconds` (a
sliding window, not fixed slots: a burst at the end of one slot and the start of
the next cannot double the allowance). When a key holds its limit, the wait is
the time until its oldest counted attempt leaves the window.
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
    """A throttle's name and limits: attempts per account and per client address in a window.

    `per_address=None` counts accounts only (the address is then ignored).
    """

    name: str = "login"
    per_account: int = 5
    per_address: int | None = 20
    window_seconds: int = 15 * 60

    def __post_init__(self) -> None:
        limits = [self.per_account, self.window_seconds]
        if self.per_address is not None:
            limits.append(self.per_address)
        if min(limits) < 1:
            raise ValueError("throttle limits and window must be at least 1")
        if not self.name or ":" in self.name:
            raise ValueError("a throttle's name is a non-empty word without ':'")

    def counters(self, account: str, address: str | None) -> list[tuple[str, int]]:
        """The counters an attempt touches, each with its limit: account first."""
        counters = [(f"{self.name}:account:{_digest(account)}", self.per_account)]
        if address is not None and self.per_address is not None:
            counters.append((f"{self.name}:address:{_digest(address)}", self.per_address))
        return counters


def _digest(value: str) -> str:
    # Counters then hold neither emails nor addresses (in memory or in Redis), and
    # stay small whatever a client sends as its email.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryThrottle:
    """Counts in this process only: right for one API process, and for tests.

    Thread-safe. Memory stays bounded: counters whose attempts have all left the
    window are dropped as new ones come, and beyond `max_counters` the least
    recently counted are dropped (losing their counts) first.
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
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many counters are held (for tests and metrics)."""
        with self._lock:
            return len(self._attempts)

    def admit(self, *, account: str, address: str | None) -> int:
        now = self._clock()
        counters = self.policy.counters(account, address)
        with self._lock:
            self._drop_expired(now)
            wait = max(self._wait(key, limit, now) for key, limit in counters)
            if wait:
                return wait
            for key, limit in counters:
                attempts = self._attempts.setdefault(key, deque(maxlen=limit))
                attempts.append(now)
                self._attempts.move_to_end(key)
            while len(self._attempts) > self._max_counters:
                self._attempts.popitem(last=False)
            return 0

    def succeeded(self, *, account: str, address: str | None) -> None:
        account_key, *address_keys = (key for key, _ in self.policy.counters(account, address))
        with self._lock:
            self._attempts.pop(account_key, None)
            self._take_back(address_keys)

    def withdraw(self, *, account: str, address: str | None) -> None:
        with self._lock:
            self._take_back([key for key, _ in self.policy.counters(account, address)])

    def _wait(self, key: str, limit: int, now: float) -> int:
        attempts = self._attempts.get(key)
        if attempts is None:
            return 0
        while attempts and attempts[0] <= now - self.policy.window_seconds:
            attempts.popleft()
        if len(attempts) < limit:
            return 0
        return max(1, math.ceil(attempts[-limit] + self.policy.window_seconds - now))

    def _take_back(self, keys: list[str]) -> None:
        for key in keys:
            attempts = self._attempts.get(key)
            if attempts:
                attempts.pop()
            if not attempts:
                self._attempts.pop(key, None)

    def _drop_expired(self, now: float) -> None:
        # The first counter is the one that counted least recently: once its last
        # attempt is out of the window, it counts nothing.
        horizon = now - self.policy.window_seconds
        while self._attempts:
            oldest = next(iter(self._attempts.values()))
            if oldest and oldest[-1] > horizon:
                return
            self._attempts.popitem(last=False)


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


class RedisThrottle:
    """Counts in Redis, shared by every API process: sorted sets of attempt times
    under `companion:throttle:<name>:`, expiring a window after their last attempt.

    While Redis cannot be reached, attempts are neither refused nor let through
    unlimited: the counting falls back to this process's memory (per-process
    limits), with a warning (`<name>_throttle.redis_unavailable`) when that
    starts and a note when Redis is back. Refusing every login during a Redis
    outage would turn a cache failure into an outage of sign-in, and the password
    hash still guards every attempt. After a failure Redis is asked again only
    `recheck_seconds` later, so that attempts do not each wait out the client's
    timeouts and retries meanwhile.
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
        self.fallback = MemoryThrottle(self.policy, clock=clock)
        self._outage = RedisOutage(f"{self.policy.name}_throttle", recheck_seconds)

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
