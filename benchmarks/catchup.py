"""Catch-up: a raw sequential read of the event log against a projection catching up.

The log is filled with the application's own events (conversations of chat
turns, saved through the application, round-robin over many conversations so
the projection's writes are spread as in real use). Then:

(c) raw   the events table read in notification order through a server-side
          cursor (sqlite3: a plain cursor), rows fetched and nothing decoded;
    ours  the ``conversations`` projection built from position 0 by our
          ``ProjectionRunner``: ``rebuild`` (one transaction) and ``catch_up``
          (one transaction a batch), with batch sizes 500 (the default) and 2000.

Two diagnostics split the catch-up: reading the notifications in batches of
500 through the recorder, without and with decoding them into domain events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from benchmarks.harness import (
    Context,
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


def postgres_catch_up(ctx: Context) -> None:
    with (
        postgres_database(ctx.config.admin_url, "catchup") as url,
        sqlite_directory("pg-catchup") as folder,
        companion(url, folder) as app,
    ):
        ctx.status(f"{PG}: writing {ctx.config.log_events:,} events")
        head = _fill(app, ctx.config.log_events, _conversations(ctx))
        table = app.application.recorder.events_table_name  # type: ignore[attr-defined]
        with psycopg.connect(url, autocommit=True) as conn:
            # Settle the table (hint bits, statistics) so every run reads the same pages.
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
        ctx.measure(
            key="pg.raw.read",
            group=PG,
            label="(c) raw psycopg read, server-side cursor, ORDER BY notification_id",
            unit="events/s",
            count=head,
            warmup=lambda: _postgres_raw_read(url, table, head),
            run=lambda: _postgres_raw_read(url, table, head),
        )
        _measure_reading(ctx, app, PG, "pg", head)
        for batch_size in BATCHES:
            _measure_catch_up(ctx, app, PG, "pg", head, batch_size)


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
