"""A Redis outage as a counter that falls back to per-process counts sees it.

While Redis is down the counter goes to its fallback without asking Redis
again until `recheck_seconds` have passed; it says once that Redis is lost
(`<event>.redis_unavailable`) and once that it is back (`<event>.redis_back`).
The clock is `time.monotonic()`: an outage is not the policy's time.
"""

from __future__ import annotations

import threading
import time

import redis
import structlog

log = structlog.get_logger(__name__)


class RedisOutage:
    def __init__(self, event: str, recheck_seconds: float) -> None:
        self._event = event
        self._recheck_seconds = recheck_seconds
        self._degraded = False
        self._recheck_at = 0.0
        self._lock = threading.Lock()

    def skipping(self) -> bool:
        """Whether to use the fallback without asking Redis (down, not yet time to recheck)."""
        with self._lock:
            return self._degraded and time.monotonic() < self._recheck_at

    def failed(self, error: redis.RedisError) -> None:
        with self._lock:
            started, self._degraded = not self._degraded, True
            self._recheck_at = time.monotonic() + self._recheck_seconds
        if started:
            log.warning(
                f"{self._event}.redis_unavailable",
                error=type(error).__name__,
                fallback="per-process limits",
            )

    def works(self) -> None:
        with self._lock:
            ended, self._degraded = self._degraded, False
        if ended:
            log.info(f"{self._event}.redis_back")
