"""Throttles (failed logins and the others), written once and run in-process and on Redis."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from structlog.testing import capture_logs

from companion.adapters.throttle import (
    REDIS_PREFIX,
    MemoryThrottle,
    RedisThrottle,
    ThrottlePolicy,
)
from companion.domain.ports import Throttle
from tests.support.clock import Clock

POLICY = ThrottlePolicy(name="login", per_account=3, per_address=5, window_seconds=600)
CHECKOUTS = ThrottlePolicy(name="checkout", per_account=3, per_address=5, window_seconds=600)
PASSWORDS = ThrottlePolicy(name="password", per_account=3, per_address=None, window_seconds=600)
ACCOUNT = "aoi@example.org"
ADDRESS = "203.0.113.7"
START = datetime.fromtimestamp(1_700_000_000, UTC)


def fail(throttle: Throttle, times: int, account: str = ACCOUNT, address: str = ADDRESS) -> None:
    for _ in range(times):
        assert throttle.admit(account=account, address=address) == 0


class ThrottleContract(ABC):
    @abstractmethod
    def throttle(self, clock: Clock, policy: ThrottlePolicy = POLICY) -> Throttle: ...

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock(START)

    def test_an_account_is_refused_after_its_failures_with_the_time_to_wait(
        self, clock: Clock
    ) -> None:
        throttle = self.throttle(clock)
        fail(throttle, 3)

        assert throttle.admit(account=ACCOUNT, address=ADDRESS) == 600
        clock.advance(seconds=599.5)
        assert throttle.admit(account=ACCOUNT, address=ADDRESS) == 1
        assert throttle.admit(account=ACCOUNT, address="198.51.100.1") == 1

    def test_the_window_slides_one_failure_at_a_time(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        fail(throttle, 1)
        clock.advance(seconds=100)
        fail(throttle, 2)

        assert throttle.admit(account=ACCOUNT, address=ADDRESS) == 500
        clock.advance(seconds=500)
        fail(throttle, 1)  # the first failure left the window: room for one
        assert throttle.admit(account=ACCOUNT, address=ADDRESS) == 100

    def test_refused_attempts_do_not_extend_the_wait(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        fail(throttle, 3)
        for _ in range(10):
            clock.advance(seconds=10)
            throttle.admit(account=ACCOUNT, address=ADDRESS)

        clock.advance(seconds=500)
        assert throttle.admit(account=ACCOUNT, address=ADDRESS) == 0

    def test_an_address_is_refused_after_its_failures_on_any_accounts(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        for n in range(5):
            fail(throttle, 1, account=f"user{n}@example.org")

        assert throttle.admit(account="new@example.org", address=ADDRESS) == 600
        assert throttle.admit(account="new@example.org", address="198.51.100.1") == 0

    def test_a_refused_address_does_not_count_against_the_account(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        for n in range(5):
            fail(throttle, 1, account=f"user{n}@example.org")
        for _ in range(10):
            throttle.admit(account=ACCOUNT, address=ADDRESS)

        fail(throttle, 3, address="198.51.100.1")

    def test_a_success_clears_the_accounts_failures(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        fail(throttle, 2)
        throttle.succeeded(account=ACCOUNT, address=ADDRESS)

        fail(throttle, 3)
        assert throttle.admit(account=ACCOUNT, address=ADDRESS) > 0

    def test_a_success_counts_not_against_the_address_but_leaves_its_failures(
        self, clock: Clock
    ) -> None:
        throttle = self.throttle(clock)
        for n in range(4):
            fail(throttle, 1, account=f"user{n}@example.org")
        for _ in range(10):  # one person signing in again and again
            fail(throttle, 1)
            throttle.succeeded(account=ACCOUNT, address=ADDRESS)

        fail(throttle, 1, account="another@example.org")
        assert throttle.admit(account="third@example.org", address=ADDRESS) > 0

    def test_a_withdrawn_attempt_counts_nowhere(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        for _ in range(10):
            fail(throttle, 1)
            throttle.withdraw(account=ACCOUNT, address=ADDRESS)

        fail(throttle, 3)

    def test_without_an_address_only_the_account_counts(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        for _ in range(3):
            assert throttle.admit(account=ACCOUNT, address=None) == 0

        assert throttle.admit(account=ACCOUNT, address=None) == 600
        assert throttle.admit(account="other@example.org", address=None) == 0

    def test_attempts_sent_together_get_no_more_than_the_limit(self, clock: Clock) -> None:
        throttle = self.throttle(clock)
        start = threading.Barrier(12)

        def attempt(_: int) -> int:
            start.wait()
            return throttle.admit(account=ACCOUNT, address=ADDRESS)

        with ThreadPoolExecutor(max_workers=12) as pool:
            waits = list(pool.map(attempt, range(12)))

        assert waits.count(0) == 3

    def test_a_policy_without_an_address_limit_counts_accounts_only(self, clock: Clock) -> None:
        throttle = self.throttle(clock, PASSWORDS)
        for n in range(10):
            fail(throttle, 1, account=f"user{n}")
        fail(throttle, 3)

        assert throttle.admit(account=ACCOUNT, address=ADDRESS) == 600
        assert throttle.admit(account=ACCOUNT, address="198.51.100.1") == 600


class TestMemoryThrottle(ThrottleContract):
    def throttle(self, clock: Clock, policy: ThrottlePolicy = POLICY) -> Throttle:
        return MemoryThrottle(policy, clock=clock.seconds)

    def test_counters_whose_failures_left_the_window_are_dropped(self, clock: Clock) -> None:
        throttle = MemoryThrottle(POLICY, clock=clock.seconds)
        for n in range(50):
            fail(throttle, 1, account=f"user{n}@example.org", address=f"10.0.0.{n}")
        assert len(throttle) == 100

        clock.advance(seconds=601)
        fail(throttle, 1)
        assert len(throttle) == 2

    def test_the_number_of_counters_is_bounded(self, clock: Clock) -> None:
        throttle = MemoryThrottle(POLICY, clock=clock.seconds, max_counters=10)
        for n in range(50):
            fail(throttle, 1, account=f"user{n}@example.org", address=f"10.0.0.{n}")

        assert len(throttle) == 10


@pytest.mark.redis
class TestRedisThrottle(ThrottleContract):
    @pytest.fixture(autouse=True)
    def client(self, redis_url: str) -> Iterator[redis.Redis]:
        client = redis.Redis.from_url(redis_url)
        self._client = client
        yield client
        client.close()

    def throttle(self, clock: Clock, policy: ThrottlePolicy = POLICY) -> Throttle:
        return RedisThrottle(self._client, policy, clock=clock.seconds)

    def test_throttles_of_other_names_count_apart(self, clock: Clock, client: redis.Redis) -> None:
        logins = RedisThrottle(client, POLICY, clock=clock.seconds)
        checkouts = RedisThrottle(client, CHECKOUTS, clock=clock.seconds)
        fail(logins, 3)

        assert logins.admit(account=ACCOUNT, address=ADDRESS) == 600
        fail(checkouts, 3)
        assert checkouts.admit(account=ACCOUNT, address=ADDRESS) == 600

    def test_processes_share_the_counts(self, clock: Clock, client: redis.Redis) -> None:
        first = RedisThrottle(client, POLICY, clock=clock.seconds)
        second = RedisThrottle(client, POLICY, clock=clock.seconds)
        fail(first, 2)
        fail(second, 1)

        assert first.admit(account=ACCOUNT, address=ADDRESS) == 600

    def test_after_a_limit_is_lowered_the_wait_follows_the_newest_failures(
        self, clock: Clock, client: redis.Redis
    ) -> None:
        before = ThrottlePolicy(per_account=5, per_address=50, window_seconds=600)
        for _ in range(5):
            fail(RedisThrottle(client, before, clock=clock.seconds), 1)
            clock.advance(seconds=10)

        # The third newest failure came 30 seconds ago: 570 to go, not 550.
        assert (
            RedisThrottle(client, POLICY, clock=clock.seconds).admit(
                account=ACCOUNT, address=ADDRESS
            )
            == 570
        )

    def test_keys_are_prefixed_expire_and_hold_no_email_or_address(
        self, clock: Clock, client: redis.Redis
    ) -> None:
        fail(RedisThrottle(client, POLICY, clock=clock.seconds), 1)

        keys = [key if isinstance(key, str) else key.decode() for key in client.keys("*")]
        assert len(keys) == 2
        assert all(key.startswith(REDIS_PREFIX + "login:") for key in keys)
        assert not any(ACCOUNT in key or ADDRESS in key for key in keys)
        assert all(0 < client.ttl(key) <= 600 for key in keys)

    def test_while_redis_is_down_this_process_counts_and_says_so(self, clock: Clock) -> None:
        unreachable = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
        throttle = RedisThrottle(unreachable, POLICY, clock=clock.seconds, recheck_seconds=0)
        checkouts = RedisThrottle(unreachable, CHECKOUTS, clock=clock.seconds, recheck_seconds=0)

        with capture_logs() as logs:
            fail(throttle, 3)
            assert throttle.admit(account=ACCOUNT, address=ADDRESS) == 600
            throttle.succeeded(account=ACCOUNT, address=ADDRESS)
            fail(throttle, 1)
            fail(checkouts, 3)
            assert checkouts.admit(account=ACCOUNT, address=ADDRESS) == 600

        named = [e for e in logs if e["event"] == "checkout_throttle.redis_unavailable"]
        assert len(named) == 1
        warnings = [e for e in logs if e["event"] == "login_throttle.redis_unavailable"]
        assert len(warnings) == 1
        assert warnings[0]["log_level"] == "warning"
