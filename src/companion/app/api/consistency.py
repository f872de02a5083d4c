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

With a replica (COMPANION_READ_DATABASE_URL) reads come from the replica's copy
of the read models, so applied means applied there: once the primary's
positions show the write (the wait above, whose announcement only hints that the
replica may soon have it too), the replica's own tracking rows are polled until
they reach the position, within the same timeout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from companion.app.bootstrap import Companion
from projections.positions import poll_for
from projections.runner import ProjectionRunner
from projections.store import ViewStore

log = structlog.get_logger(__name__)
CONSISTENCY_HEADER = "X-Consistency"
_STATE_KEY = "companion_consistency"


@dataclass(frozen=True)
class ReplicaPositions:
    """The read models' positions as a replica has them: its own tracking rows."""

    views: ViewStore
    keys: Mapping[str, str]
    """Each read model's tracking key, by its name."""

    def lowest(self, names: Sequence[str]) -> int:
        """The lowest position of `names` on the replica, in one query."""
        with self.views.read() as cursor:
            found = self.views.positions_in(cursor, [self.keys[name] for name in names])
        return min(found.values(), default=0)

    def wait_for(self, position: int, names: Sequence[str], deadline: float) -> bool:
        """Poll until every one of `names` has `position` on the replica (5 ms, backing
        off to 50 ms); False at `deadline` (of `time.monotonic`)."""
        return poll_for(position, ["replica"], deadline, lambda _: self.lowest(names))


@dataclass(frozen=True)
class ReadYourWrites:
    """What a write waits on before it answers: the runner (and the replica, when reads
    come from one), for so long at most."""

    runner: ProjectionRunner
    timeout: float
    replica: ReplicaPositions | None = None

    @classmethod
    def of(cls, companion: Companion) -> ReadYourWrites:
        replica = None
        if companion.read_views is not None:
            keys = {name: model.key for name, model in companion.runner.projections.items()}
            replica = ReplicaPositions(companion.read_views, keys)
        return cls(companion.runner, companion.settings.read_your_writes_timeout, replica)

    def wait(self, position: int | None, projections: Sequence[str]) -> bool:
        """Block until `projections` have applied `position` where reads come from."""
        deadline = time.monotonic() + self.timeout
        applied = self.runner.wait_for(position, list(projections), self.timeout)
        if applied and position is not None and self.replica is not None:
            applied = self.replica.wait_for(position, projections, deadline)
        return applied

    def __call__(
        self, request: Request[Any, Any, Any], position: int | None, projections: Sequence[str]
    ) -> bool:
        """Hold the answer until `projections` have applied `position`; False if they did not."""
        applied = self.wait(position, projections)
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
