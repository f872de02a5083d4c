"""Catch-up: a raw sequential read of the event log against a projection catching up.

PostgreSQL: a log of a million events (`PG_LOG_EVENTS`), conversations of chat
turns round-robin over a thousand conversations, written by COPY from stored
events the application's mapper encoded (see `eventlog`). Then, in one run:

(c) raw   the events table read in notification order through a server-side
          cursor, rows fetched and nothing decoded;
    ours  the ``conversations`` projection caught up from position 0 by our
          ``ProjectionRunner`` (one transaction a batch of 5000, as
          `projections rebuild` reads), one timed run each;
    `companion projections rebuild --all`, every read model rebuilt into fresh
          tables and switched in, as its own process: wall time.

SQLite: the log is saved through the application (the run's --events), and
the same comparison is made with ``rebuild`` and ``catch_up`` at batches of
500 and 2000, plus two diagnostics splitting the catch-up: reading the
notifications in batches of 500 through the recorder, without and with
decoding them into domain events.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from benchmarks.eventlog import copy_log
from benchmarks.harness import (
    Context,
    Figure,
    companion,
    next_event,
    postgres_database,
    sqlite_directory,
    timed,
)
from companion.app.bootstrap import Companion
from companion.domain.conversations import Conversation
from projections.base import Projection
from projections.runner import ProjectionRunner

PG = "PostgreSQL catch-up"
LITE = "SQLite catch-up"
FETCH = 5000
BATCHES = (500, 2000)
PG_BATCHES = (5000,)
PG_LOG_EVENTS = 1_000_000
"""Size of the PostgreSQL log; `python -m benchmarks --log-events N` (or --quick) for less."""


def _fill(app: Companion, events: int, conversations: int) -> int:
    """Chat turns over `conversations` conversations, saved a round at a time; the log's size."""
    application = app.application
    streams = [Conversation(user_id=uuid4(), character_id=uuid4()) for _ in range(conversations)]
    awaiting: list[UUID | None] = [None] * conversations
    application.save(*streams)
    written = conversations
    while written < events:
        batch = min(conversations, events - written)
        for index in range(batch):
            awaiting[index] = next_event(streams[index], awaiting[index])
        application.save(*streams[:batch])
        written += batch
    return app.runner.head()


def _reset(app: Companion, projection: Projection) -> None:
    """Empty the projection's tables and forget its position (untimed, between runs)."""
    views = app.views
    with views.write(projection.key) as cursor:
        if views.dialect == "postgres":
            cursor.execute(f"TRUNCATE {', '.join(projection.tables)}")
        else:
            projection.clear(cursor)
        views.reset(cursor, projection.key)


def _runner(app: Companion, projection: Projection, batch_size: int) -> ProjectionRunner:
    return ProjectionRunner(
        app.application.recorder,
        app.application.mapper,
        app.views,
        [projection],
        batch_size=batch_size,
    )


def _check(done: int, expected: int, what: str) -> None:
    if done != expected:
        raise RuntimeError(f"{what} applied {done} events, expected {expected}")


def _measure_catch_up(
    ctx: Context, app: Companion, group: str, prefix: str, head: int, batch_size: int
) -> None:
    projection = app.read_models.conversations
    runners: list[ProjectionRunner] = []

    def setup() -> None:
        _reset(app, projection)
        runners[:] = [_runner(app, projection, batch_size)]

    def warmup() -> None:
        setup()
        runners[0].step(projection)  # one batch: prepared statements, caches
        _reset(app, projection)

    def rebuild() -> float:
        done: list[int] = []
        seconds = timed(lambda: done.append(runners[0].rebuild(projection)))
        _check(done[0], head, "rebuild")
        return seconds

    def catch_up() -> float:
        done: list[int] = []
        seconds = timed(lambda: done.append(runners[0].catch_up(projection)))
        _check(done[0], head, "catch_up")
        return seconds

    variants: list[tuple[str, str, Callable[[], float]]] = [("catch_up", "catch_up", catch_up)]
    if batch_size == BATCHES[0]:
        variants.append(("rebuild", "rebuild (one transaction)", rebuild))
    for name, what, run in variants:
        ctx.measure(
            key=f"{prefix}.catchup.{name}.{batch_size}",
            group=group,
            label=f"(c) conversations projection, {what} from 0, batch {batch_size}",
            unit="events/s",
            count=head,
            warmup=warmup,
            setup=setup,
            run=run,
        )


def _measure_reading(ctx: Context, app: Companion, group: str, prefix: str, head: int) -> None:
    recorder, mapper = app.application.recorder, app.application.mapper
    topics = app.read_models.conversations.topics

    def read(decode: bool) -> Callable[[], float]:
        def run() -> float:
            def work() -> None:
                position, seen = 0, 0
                while position < head:
                    batch = recorder.select_notifications(
                        start=position + 1, limit=500, stop=head, topics=topics
                    )
                    if not batch:
                        break
                    if decode:
                        for notification in batch:
                            mapper.to_domain_event(notification)
                    seen += len(batch)
                    position = batch[-1].id
                _check(seen, head, "select_notifications")

            return timed(work)

        return run

    for decode in (False, True):
        ctx.measure(
            key=f"{prefix}.read.{'decode' if decode else 'select'}",
            group=group,
            label=(
                "    diagnostic: select_notifications, batch 500"
                + (" + to_domain_event" if decode else " (no decoding)")
            ),
            unit="events/s",
            count=head,
            warmup=read(decode),
            run=read(decode),
            diagnostic=True,
        )


def _conversations(ctx: Context) -> int:
    return max(4, min(50, ctx.config.log_events // 200))


# -- PostgreSQL ------------------------------------------------------------------------------


def _postgres_raw_read(url: str, table: str, head: int) -> float:
    query = sql.SQL("SELECT * FROM {} ORDER BY notification_id").format(sql.Identifier(table))
    with psycopg.connect(url) as conn, conn.cursor(name="bench_scan") as cursor:

        def work() -> None:
            cursor.execute(query)
            rows = 0
            while batch := cursor.fetchmany(FETCH):
                rows += len(batch)
            _check(rows, head, "the raw read")

        return timed(work)


def _once(ctx: Context, key: str, label: str, count: int, seconds: float) -> Figure:
    """A figure from one timed run: at a million events each run is long enough."""
    figure = Figure(key, PG, label, "events/s", count, [count / seconds])
    ctx.figures.append(figure)
    ctx.echo(f"{PG} · {label}: {figure.median:,.0f} events/s ({seconds:.1f} s)")
    return figure


def _rebuild_all(url: str, folder: Path) -> float:
    """`companion projections rebuild --all` in a process of its own, as an operator runs it."""
    env = {
        **os.environ,
        "COMPANION_DATABASE_URL": url,
        "COMPANION_DATA_DIR": str(folder),
        "COMPANION_CATALOGUE_DEFAULTS": "false",
        "COMPANION_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).with_name("companion")), "projections", "rebuild", "--all"]
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - started


def postgres_catch_up(ctx: Context) -> None:
    events = PG_LOG_EVENTS
    with (
        postgres_database(ctx.config.admin_url, "catchup") as url,
        sqlite_directory("pg-catchup") as folder,
        companion(url, folder) as app,
    ):
        ctx.status(f"{PG}: writing {events:,} events (COPY)")
        table = app.application.recorder.events_table_name  # type: ignore[attr-defined]
        started = time.perf_counter()
        conversations = max(4, min(1000, events // 1000))
        head = copy_log(url, table, app.application.mapper, events, conversations)
        took = time.perf_counter() - started
        ctx.note(f"{PG}: a log of {head:,} events written by COPY in {took:.1f} s")
        raw = _once(
            ctx,
            "pg.raw.read",
            "(c) raw psycopg read, server-side cursor, ORDER BY notification_id",
            head,
            _postgres_raw_read(url, table, head),
        )
        projection = app.read_models.conversations
        for batch_size in PG_BATCHES:
            ctx.status(f"{PG}: conversations catch-up from 0, batch {batch_size}")
            _reset(app, projection)
            done: list[int] = []
            runner = _runner(app, projection, batch_size)
            seconds = timed(lambda: done.append(runner.catch_up(projection)))  # noqa: B023
            _check(done[0], head, "catch_up")
            figure = _once(
                ctx,
                f"pg.catchup.catch_up.{batch_size}",
                f"(c) conversations projection, catch_up from 0, batch {batch_size}",
                head,
                seconds,
            )
            ctx.note(
                f"{PG}: catch_up, batch {batch_size}, over {head:,} events:"
                f" {figure.median / raw.median:.1%} of the raw read (goal ≥ 30 %)"
            )
        ctx.status(f"{PG}: companion projections rebuild --all over {head:,} events")
        seconds = _rebuild_all(url, folder)
        _once(ctx, "pg.rebuild_all", "projections rebuild --all (every read model)", head, seconds)
        ctx.note(
            f"{PG}: `companion projections rebuild --all` over {head:,} events: {seconds:.1f} s"
            " wall time, process start included (goal < 60 s)"
        )


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_raw_read(path: Path, head: int) -> float:
    conn = sqlite3.connect(path)
    try:

        def work() -> None:
            cursor = conn.execute("SELECT rowid, * FROM stored_events ORDER BY rowid")
            rows = 0
            while batch := cursor.fetchmany(FETCH):
                rows += len(batch)
            _check(rows, head, "the raw read")

        return timed(work)
    finally:
        conn.close()


def sqlite_catch_up(ctx: Context) -> None:
    with sqlite_directory("catchup") as folder:
        path = folder / "events.db"
        with companion(f"sqlite:///{path}", folder) as app:
            ctx.status(f"{LITE}: writing {ctx.config.log_events:,} events")
            head = _fill(app, ctx.config.log_events, _conversations(ctx))
            ctx.measure(
                key="sqlite.raw.read",
                group=LITE,
                label="(c) raw sqlite3 read, ORDER BY rowid",
                unit="events/s",
                count=head,
                warmup=lambda: _sqlite_raw_read(path, head),
                run=lambda: _sqlite_raw_read(path, head),
            )
            _measure_reading(ctx, app, LITE, "sqlite", head)
            for batch_size in BATCHES:
                _measure_catch_up(ctx, app, LITE, "sqlite", head, batch_size)
