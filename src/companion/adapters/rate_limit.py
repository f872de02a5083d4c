"""Message rate limits per user: in this process, or shared through Redis.

Two counters a user:
- a minute: a sliding window of the last 60 seconds (the times of the messages
  counted within it), so a burst at the end of one minute and the start of the
  next cannot double the allowance; when full, the wait is the time until its
  oldest counted message leaves the window;
- a day: a fixed window, the user's own calendar day (the caller names the day
  and says how long it has left); when full, the wait is until that day ends.

A message is admitted and counted in one step (for Redis one Lua script), so
processes admitting at the same moment cannot all see room for one more. An
admitted message that could not be sent after all is taken back with its ticket.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable

import redis
import structlog

from companion.adapters.redis_outage import RedisOutage
from companion.domain.ports import Admission, Allowance, Day, Ticket

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
"""Seconds since the epoch; processes sharing Redis must share it, hence wall time."""

MINUTE = 60.0
REDIS_PREFIX = "companion:rate:"


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


class MemoryMessageLimiter:
    """Counts in this process only: right for one API process, and for tests.

    Thread-safe. Memory stays bounded: a user whose minute is empty and whose day
    is over is dropped as others come, and beyond `max_users` the least recently
    active users are dropped (losing their counts) first.
    """

    def __init__(self, *, clock: Clock = time.time, max_users: int = 100_000) -> None:
        self._clock = clock
        self._max_users = max_users
        self._minutes: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()
        self._days: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._minutes)

    def admit(self, user: str, allowance: Allowance, day: Day) -> Admission:
        now = self._clock()
        with self._lock:
            times = self._minutes.setdefault(user, deque())
            self._minutes.move_to_end(user)
            while times and times[0][0] <= now - MINUTE:
                times.popleft()
            counted_day, today = self._days.get(user, (day.name, 0))
            if counted_day != day.name:
                today = 0
            wait = 0.0
            if len(times) >= allowance.per_minute:
                wait = times[len(times) - allowance.per_minute][0] + MINUTE - now
            if allowance.per_day is not None and today >= allowance.per_day:
                wait = max(wait, day.seconds_left)
            if wait > 0:
                return Admission(None, _seconds(wait))
            member = uuid.uuid4().hex
            times.append((now, member))
            self._days[user] = (day.name, today + 1)
            while len(self._minutes) > self._max_users:
                dropped, _ = self._minutes.popitem(last=False)
                self._days.pop(dropped, None)
            return Admission(Ticket(user, member, now, day.name, shared=False))

    def withdraw(self, ticket: Ticket) -> None:
        with self._lock:
            times = self._minutes.get(ticket.user)
            if times is None:
                return
            for entry in times:
                if entry[1] == ticket.member:
                    times.remove(entry)
                    break
            else:
                return
            counted_day, today = self._days.get(ticket.user, (ticket.day, 0))
            if counted_day == ticket.day and today > 0:
                self._days[ticket.user] = (counted_day, today - 1)


# KEYS: the user's minute (a sorted set of message times) and the user's day (a
# counter). ARGV: now, the minute's length, a unique member, the per-minute limit,
# the per-day limit (0: none), the seconds the day has left. Answers 0 and counts
# the message on both, or answers the wait (seconds, rounded up) and counts nothing.
# The day is counted whatever the limit, so that a lower tier later in the day
# knows what was sent.
_ADMIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local per_minute = tonumber(ARGV[4])
local per_day = tonumber(ARGV[5])
local day_left = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local wait = 0
local count = redis.call('ZCARD', KEYS[1])
if count >= per_minute then
  local oldest = redis.call('ZRANGE', KEYS[1], count - per_minute, count - per_minute, 'WITHSCORES')
  wait = tonumber(oldest[2]) + window - now
end
if per_day > 0 then
  local today = tonumber(redis.call('GET', KEYS[2]) or '0')
  if today >= per_day and day_left > wait then wait = day_left end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], math.ceil(day_left) + 60)
return 0
"""

# KEYS: the same two. ARGV: the member. Takes one admitted message back.
_WITHDRAW = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
end
return 0
"""


class RedisMessageLimiter:
    """Counts in Redis, shared by every API process, under `companion:rate:`.

    Keys are `companion:rate:{user}:minute` (a sorted set of the last minute's
    message times) and `companion:rate:{user}:day:<date>` (a counter expiring
    after the day); the braces keep one user's keys in one Redis Cluster slot.

    While Redis cannot be reached, messages are neither all refused nor let
    through unlimited: the counting falls back to this process's memory (so each
    process allows the limit on its own), with one warning when that starts and
    a note when Redis is back. Refusing every message during a Redis outage would
    turn a counter's failure into an outage of chat. After a failure Redis is
    asked again only `recheck_seconds` later, so that messages do not each wait
    out the client's timeouts meanwhile.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock = time.time,
        prefix: str = REDIS_PREFIX,
        recheck_seconds: float = 5.0,
    ) -> None:
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._admit = client.register_script(_ADMIT)
        self._withdraw = client.register_script(_WITHDRAW)
        self.fallback = MemoryMessageLimiter(clock=clock)
        self._outage = RedisOutage("rate_limit", recheck_seconds)

    def admit(self, user: str, allowance: Allowance, day: Day) -> Admission:
        if self._outage.skipping():
            return self.fallback.admit(user, allowance, day)
        now = self._clock()
        member = uuid.uuid4().hex
        try:
            wait = int(
                self._admit(
                    keys=self._keys(user, day.name),
                    args=[
                        repr(now),
                        MINUTE,
                        member,
                        allowance.per_minute,
                        allowance.per_day or 0,
                        repr(day.seconds_left),
                    ],
                )
            )
        except redis.RedisError as error:
            self._outage.failed(error)
            return self.fallback.admit(user, allowance, day)
        self._outage.works()
        if wait:
            return Admission(None, wait)
        return Admission(Ticket(user, member, now, day.name, shared=True))

    def withdraw(self, ticket: Ticket) -> None:
        if not ticket.shared:
            self.fallback.withdraw(ticket)
            return
        try:
            self._withdraw(keys=self._keys(ticket.user, ticket.day), args=[ticket.member])
        except redis.RedisError as error:
            self._outage.failed(error)

    def _keys(self, user: str, day: str) -> list[str]:
        return [f"{self._prefix}{{{user}}}:minute", f"{self._prefix}{{{user}}}:day:{day}"]
