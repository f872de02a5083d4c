"""Live lag and read-your-writes on PostgreSQL, under a steady load of appends.

Appends come at a steady rate (`RATE` a second, one event each: a user's
message or the reply to it, round-robin over a few conversations), saved
through the application. Two set-ups:

- embedded: the projection runner runs in the appending process;
- worker: the runner is `companion projections run`, a process of its own,
  and the appending process only waits (woken by the worker's NOTIFY).

For each, two phases:

(d) live lag   appends at the steady rate, nobody waiting; a listener on the
               projections' channel notes when the conversations read model
               announces each position: lag = announced − appended, p50/p99;
(e) read-your-writes   each append is followed by `runner.wait_for` its
               position, as a write request does: the added latency, p50/p99.

`python -m benchmarks.lag [--quick]` runs only this; `make bench` runs it
with the rest.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from benchmarks.harness import (
    Config,
    Context,
    Figure,
    companion,
    next_event,
    postgres_database,
    sqlite_directory,
)
from companion.app.bootstrap import Companion
from companion.domain.conversations import Conversation

GROUP = "PostgreSQL live lag"
RATE = 100
"""Appends a second."""
CONVERSATIONS = 8
WAIT = 10.0


def _seconds(ctx: Context) -> float:
    return 2.0 if ctx.config.repeats == 1 else 8.0


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


class _Appender:
    """Saves one event at a time, round-robin over a few conversations."""

    def __init__(self, app: Companion) -> None:
        self.uow = app.uow
        self.streams = [
            Conversation(user_id=uuid4(), character_id=uuid4()) for _ in range(CONVERSATIONS)
        ]
        self.awaiting: list[UUID | None] = [None] * CONVERSATIONS
        self.turn = 0
        self.start_position = self.uow.save(*self.streams) or 0

    def append(self) -> int:
        index = self.turn % CONVERSATIONS
        self.turn += 1
        self.awaiting[index] = next_event(self.streams[index], self.awaiting[index])
        position = self.uow.save(self.streams[index])
        assert position is not None
        return position


class _Announcements:
    """When each position of the conversations read model was announced (NOTIFY)."""

    def __init__(self, url: str, channel: str) -> None:
        self.seen: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, args=(url, channel), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the lag listener did not start")

    def _listen(self, url: str, channel: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self._ready.set()
            while not self._stop.is_set():
                for notify in conn.notifies(timeout=0.2, stop_after=1):
                    at = time.perf_counter()
                    for line in notify.payload.splitlines():  # "name position" a read model
                        name, _, position = line.rpartition(" ")
                        if name == "conversations":
                            self.seen.append((int(position), at))

    def lags(self, appended: list[tuple[int, float]]) -> list[float]:
        """Milliseconds from each append to the first announcement that covers it."""
        time.sleep(0.5)  # the last announcements
        self._stop.set()
        self._thread.join()
        seen, lags, index = sorted(self.seen), [], 0
        for position, at in sorted(appended):
            while index < len(seen) and seen[index][0] < position:
                index += 1
            if index == len(seen):
                raise RuntimeError(f"position {position} was never announced")
            lags.append(1000 * (seen[index][1] - at))
        return lags


def _steady(seconds: float, work: Callable[[], None]) -> None:
    """Call `work` RATE times a second (on schedule, not after each other) for `seconds`."""
    interval, started = 1.0 / RATE, time.perf_counter()
    for n in range(int(seconds * RATE)):
        delay = started + n * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work()


def _record(ctx: Context, key: str, label: str, samples: list[float]) -> None:
    p50, p99 = _percentiles(samples)
    for name, value in (("p50", p50), ("p99", p99)):
        ctx.figures.append(Figure(f"{key}.{name}", GROUP, f"{label}, {name}", "ms", 1, [value]))
    ctx.note(f"{GROUP} · {label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(samples)} samples)")


def _phases(ctx: Context, app: Companion, url: str, setup: str) -> None:
    appender = _Appender(app)
    runner = app.runner
    channel = app.views.channel  # type: ignore[attr-defined]
    if not runner.wait_for(appender.start_position, ["conversations"], timeout=60):
        raise RuntimeError("the projections never caught up")
    seconds = _seconds(ctx)

    ctx.status(f"{GROUP}: {setup}, live lag under {RATE} appends/s")
    announcements = _Announcements(url, channel)
    appended: list[tuple[int, float]] = []
    _steady(seconds, lambda: appended.append((appender.append(), time.perf_counter())))
    limit_lag = "goal p99 < 50 ms" if setup == "worker" else "the runner in the appending process"
    _record(
        ctx, f"pg.lag.{setup}", f"(d) live lag, {setup} ({limit_lag})", announcements.lags(appended)
    )

    ctx.status(f"{GROUP}: {setup}, read-your-writes")
    waits: list[float] = []

    def write_and_wait() -> None:
        position = appender.append()
        started = time.perf_counter()
        if not runner.wait_for(position, ["conversations"], timeout=WAIT):
            raise RuntimeError(f"position {position} was not applied within {WAIT} s")
        waits.append(1000 * (time.perf_counter() - started))

    _steady(seconds, write_and_wait)
    _record(ctx, f"pg.ryw.{setup}", f"(e) read-your-writes added latency, {setup}", waits)


def _worker(url: str, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COMPANION_DATABASE_URL": url,
        "COMPANION_DATA_DIR": str(folder),
        "COMPANION_CATALOGUE_DEFAULTS": "false",
        "COMPANION_DAILY_LIFE": "false",
        "COMPANION_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).with_name("companion")), "projections", "run"]
    return subprocess.Popen(
        command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def postgres_lag(ctx: Context) -> None:
    with (
        postgres_database(ctx.config.admin_url, "lag") as url,
        sqlite_directory("pg-lag") as folder,
    ):
        with companion(url, folder) as app:
            app.runner.start()
            try:
                _phases(ctx, app, url, "embedded")
            finally:
                app.runner.stop()
        with companion(url, folder) as app:
            worker = _worker(url, folder)
            try:
                _phases(ctx, app, url, "worker")
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lag", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 s a phase instead of 8")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    config = Config(events=0, repeats=1 if args.quick else 3, admin_url=args.database_url)
    ctx = Context(config, status=lambda text: None, echo=print)
    postgres_lag(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
