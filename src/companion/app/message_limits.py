"""How many messages a user may send: per minute and per day, by subscription tier.

The figures are the tier's entitlements (domain.entitlements: free 10 a minute
and 100 a day, premium 30 and 1000, ultimate 60 and no daily limit), unless
the operator overrides them for every tier (COMPANION_MESSAGES_PER_MINUTE,
COMPANION_MESSAGES_PER_DAY). A day is the user's own calendar day, in their
time zone. Chat messages and regenerated replies count alike, over REST and
the WebSocket; a refused message is refused before anything is written.

A chat turn is counted inside the turn (Chat.send_message),
on the user as the turn's one read of the store found them: a tier changed by
any process (an upgrade after a purchase, a downgrade at expiry) counts for
the next message, and the steady turn pays no statement for it. A client's
retry of a message the conversation already holds (same client_message_id)
is answered without being counted, at the limit too; of a retry racing its
original, the turn that stores the message keeps the count and the other
gives its own back. A regenerated reply is counted before its use case, on
the user read from the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from companion.app.errors import ApplicationError
from companion.domain.entitlements import entitlements
from companion.domain.ports import Allowance, Day, MessageLimiter, Ticket


class RateLimited(ApplicationError):
    """Too many messages for the user's tier; retry after `retry_after` seconds. (429)"""

    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class UserDirectory(Protocol):
    def user(self, user_id: UUID) -> _Account: ...


class _Account(Protocol):
    @property
    def tier(self) -> str: ...

    @property
    def timezone(self) -> str: ...


class MessageLimits:
    """Admits a user's message by their tier, or refuses it with the wait (RateLimited)."""

    def __init__(
        self,
        users: UserDirectory,
        limiter: MessageLimiter,
        *,
        per_minute: int | None = None,
        per_day: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.users = users
        self.limiter = limiter
        self.per_minute = per_minute
        self.per_day = per_day
        self._clock = clock

    def allowance(self, tier: str) -> Allowance:
        rights = entitlements(tier)
        return Allowance(
            per_minute=self.per_minute or rights.messages_per_minute,
            per_day=self.per_day or rights.messages_per_day,
        )

    def admit(self, user_id: UUID, account: _Account | None = None) -> Ticket:
        """Count one message of the user, or raise RateLimited (nothing counted).

        `account` is the user as the caller has just read them from the store;
        without it the user is read here, brought up to date, so a new tier
        counts at once.
        """
        if account is None:
            account = self.users.user(user_id)
        admission = self.limiter.admit(
            str(user_id), self.allowance(account.tier), self.day(account.timezone)
        )
        if admission.ticket is None:
            raise RateLimited(
                "too many messages for your plan, try again later",
                retry_after=admission.retry_after,
            )
        return admission.ticket

    def withdraw(self, ticket: Ticket) -> None:
        """Take back an admitted message that was not sent after all."""
        self.limiter.withdraw(ticket)

    @contextmanager
    def sending(self, user_id: UUID) -> Iterator[None]:
        """One message counted around its use case; taken back if the use case fails."""
        ticket = self.admit(user_id)
        try:
            yield
        except BaseException:
            self.withdraw(ticket)
            raise

    def day(self, timezone: str) -> Day:
        """The user's calendar day now, and the seconds until it ends."""
        zone = ZoneInfo(timezone)
        now = self._clock()
        local = datetime.fromtimestamp(now, zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
        return Day(local.date().isoformat(), max(1.0, midnight.timestamp() - now))


@contextmanager
def sending(limits: MessageLimits | None, user_id: UUID) -> Iterator[None]:
    """`limits.sending(user_id)`, or nothing counted where no limits are wired."""
    if limits is None:
        yield
        return
    with limits.sending(user_id):
        yield
