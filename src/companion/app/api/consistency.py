"""Read-your-writes, told truthfully.

A write answers once the read models it affects have applied it, so that the
client's next read shows it. If they do not within
COMPANION_READ_YOUR_WRITES_TIMEOUT the write still stands (it is in the log),
and the answer says so in its `X-Consistency` header:

- `X-Consistency: applied` — reads now show this write;
- `X-Consistency: pending` — the write is stored; reads may not show it yet.

The wait is for the write's own position in the log (no head-of-log query)
and is woken, not polled: by the runner's commit in this process, or by the
worker's announcement (PostgreSQL NOTIFY) when the runner is another process.
Only SQLite across processes polls, briefly, having no such announcement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from companion.app.bootstrap import Companion
from projections.runner import ProjectionRunner

log = structlog.get_logger(__name__)
CONSISTENCY_HEADER = "X-Consistency"
_STATE_KEY = "companion_consistency"


@dataclass(frozen=True)
class ReadYourWrites:
    """What a write waits on before it answers: the runner, for so long at most."""

    runner: ProjectionRunner
    timeout: float

    @classmethod
    def of(cls, companion: Companion) -> ReadYourWrites:
        return cls(companion.runner, companion.settings.read_your_writes_timeout)

    def __call__(
        self, request: Request[Any, Any, Any], position: int | None, projections: Sequence[str]
    ) -> bool:
        """Hold the answer until `projections` have applied `position`; False if they did not."""
        applied = self.runner.wait_for(position, list(projections), self.timeout)
        if not applied:
            log.warning("projection.behind", projections=list(projections), position=position)
        request.scope.setdefault("state", {})[_STATE_KEY] = "applied" if applied else "pending"
        return applied


async def consistency_header(message: Message, scope: Scope) -> None:
    """A `before_send` hook: put the outcome of read_your_writes on the answer."""
    if message["type"] != "http.response.start":
        return
    outcome = scope.get("state", {}).get(_STATE_KEY)
    if outcome is not None:
        MutableScopeHeaders.from_message(message)[CONSISTENCY_HEADER] = outcome
