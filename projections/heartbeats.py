"""Workers' heartbeats: who follows the log, and when each was last seen alive.

A runner following the log records a heartbeat in the view store every few
seconds, so that a process without a runner of its own (an API process in
production) can tell whether anyone is following the log, and an operator can
see which workers there are. A worker not seen for a week is forgotten.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import structlog

from projections.store import ViewStore, as_datetime, as_json

log = structlog.get_logger(__name__)

WORKERS_TABLE = "projection_workers"
# A worker not seen for this long is forgotten at the next heartbeat of any other.
FORGET_WORKERS_AFTER = timedelta(days=7)
WORKERS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {WORKERS_TABLE} ("
    "worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid {bigint} NOT NULL, "
    "projections {json} NOT NULL, started_at {timestamp} NOT NULL, "
    "last_seen {timestamp} NOT NULL)"
)
"""The workers' table, made by every view store when it opens."""


@dataclass
class Worker:
    """A running projection loop, as its heartbeat records it."""

    worker_id: str
    host: str
    pid: int
    projections: list[str]
    started_at: datetime
    last_seen: datetime


class Heartbeats:
    """The heartbeats in one view store: this process's worker's, while its loop runs, and
    what every worker recorded."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store
        self.worker: Worker | None = None
        """This process's worker, while its loop runs (only a running loop beats)."""
        self._next_beat = 0.0

    def begin(self, projections: Sequence[str], worker_id: str | None = None) -> None:
        """This process's loop starts following the log: its first beat is due at once.

        A loop started again beats under a new id unless it is given one."""
        self.worker = Worker(
            worker_id=worker_id or uuid4().hex,
            host=socket.gethostname(),
            pid=os.getpid(),
            projections=list(projections),
            started_at=datetime.now(UTC),
            last_seen=datetime.now(UTC),
        )
        self._next_beat = 0.0

    def end(self) -> None:
        """This process's loop has stopped: no more beats."""
        self.worker = None

    def beat_if_due(self, interval: float) -> None:
        """Record this worker's heartbeat when it is due (`interval` seconds after the last)."""
        worker = self.worker
        if worker is None or time.monotonic() < self._next_beat:
            return
        self._next_beat = time.monotonic() + interval
        worker.last_seen = datetime.now(UTC)
        try:
            self.record(worker)
        except Exception:
            # A missed beat is only a missed beat: the projections must not stop for it.
            log.warning("projections.heartbeat_failed", exc_info=True)

    def record(self, worker: Worker) -> None:
        """Record that `worker` is alive, in a short transaction of its own."""
        with self.store.write(WORKERS_TABLE) as cursor:
            cursor.execute(
                f"INSERT INTO {WORKERS_TABLE} "
                "(worker_id, host, pid, projections, started_at, last_seen) "
                "VALUES (:worker_id, :host, :pid, :projections, :started_at, :last_seen) "
                "ON CONFLICT (worker_id) DO UPDATE SET last_seen = excluded.last_seen",
                {
                    "worker_id": worker.worker_id,
                    "host": worker.host,
                    "pid": worker.pid,
                    "projections": worker.projections,
                    "started_at": worker.started_at,
                    "last_seen": worker.last_seen,
                },
            )
            cursor.execute(
                f"DELETE FROM {WORKERS_TABLE} WHERE last_seen < :cutoff",
                {"cutoff": worker.last_seen - FORGET_WORKERS_AFTER},
            )

    def last(self) -> datetime | None:
        """The most recent heartbeat of any worker (None when none was ever recorded)."""
        with self.store.read() as cursor:
            rows = cursor.query(f"SELECT MAX(last_seen) AS last_seen FROM {WORKERS_TABLE}")
        value = rows[0]["last_seen"] if rows else None
        return None if value is None else as_datetime(value)

    def workers(self) -> list[Worker]:
        """Every worker with a recorded heartbeat, most recently seen first."""
        with self.store.read() as cursor:
            rows = cursor.query(f"SELECT * FROM {WORKERS_TABLE} ORDER BY last_seen DESC")
        return [
            Worker(
                worker_id=row["worker_id"],
                host=row["host"],
                pid=int(row["pid"]),
                projections=list(as_json(row["projections"])),
                started_at=as_datetime(row["started_at"]),
                last_seen=as_datetime(row["last_seen"]),
            )
            for row in rows
        ]
