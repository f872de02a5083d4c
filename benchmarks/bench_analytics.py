"""The analytics read model and the KPI report over a large PostgreSQL log, against raw reads.

The log: a small synthetic population is played through the use cases
(`app.demo.seeding`, on the simulation's clock: sign-ups, sessions, chat turns,
moods, daily lives, payments), then its stored events are replicated for many
more users until the log holds `PG_LOG_EVENTS` events (a million;
COMPANION_BENCH_EVENTS=N, `python -m benchmarks --log-events N`, or
`python -m benchmarks.bench_analytics --events N`). Each copy gets new ids (every
uuid of its events, in stream ids and in states, mapped the same way within the
copy, so references between its streams hold), its days shifted by up to
`SPREAD_DAYS` (timestamps and ISO dates in the states) and new emails; the shared
catalogue is kept once. The copies are merged by timestamp, numbered from 1 and
written by COPY: every stream keeps its versions, topics and encoding, and the
positions follow time as a live log's would. Not re-derived: ids the
application derives by uuid5 (a conversation's from its user and character, a
wallet's, an email claim's) and epoch seconds inside payment states.

Then, in one run:

(k) raw   ``SELECT count(*)`` of the events table, and the table read in
          position order through a server-side cursor, nothing decoded;
    base  the ``conversations`` read model caught up from 0 (batch 5000);
    ours  the ``analytics`` read model caught up from 0 (batch 5000), goal < 60 s
          for a million events; then ``compute_kpis`` over the whole range by
          week (goal < 10 s) and the HTML report rendered from it.
"""

from __future__ import annotations

import argparse
import heapq
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import Notification
from psycopg import sql

from benchmarks.harness import (
    Context,
    Figure,
    postgres_database,
    settings_for,
    sqlite_directory,
    timed,
)
from companion.app.bootstrap import Companion, bootstrap
from projections.base import Projection
from projections.runner import ProjectionRunner

PG = "PostgreSQL analytics"
PG_LOG_EVENTS = int(os.environ.get("COMPANION_BENCH_EVENTS", "1000000"))
"""Size of the log; COMPANION_BENCH_EVENTS=N or `--log-events N` for another."""
SEED_USERS, SEED_DAYS, SEED = 40, 28, 7
START = date(2026, 1, 5)
SPREAD_DAYS = 56
"""Copies start up to eight weeks after the seeded population."""
BATCH = 5000
FETCH = 5000
KPI_RUNS = 3
SHARED_TOPICS = ("companion.domain.catalogue:",)
"""Streams every user shares: kept once, never copied."""

_TOKEN = re.compile(
    rb"(?P<dashed>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    rb"|(?<![0-9a-f])(?P<hex>[0-9a-f]{32})(?![0-9a-f])"
    rb'|(?<=")(?P<day>\d{4}-\d{2}-\d{2})(?=[T"])'
    rb"|(?P<email>@demo\.example\.org)"
)


class _Template:
    """The seeded log, each state cut into literal bytes and the tokens a copy replaces."""

    def __init__(self, url: str, table: str, companion: Companion) -> None:
        mapper = companion.application.mapper
        query = sql.SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id"
            " FROM {} ORDER BY notification_id"
        ).format(sql.Identifier(table))
        with psycopg.connect(url) as conn:
            rows = conn.execute(query).fetchall()
        self.rows: list[tuple[UUID, int, str, list[Any], datetime]] = []
        self.shared: set[int] = set()
        for originator_id, version, topic, state, position in rows:
            state = bytes(state)
            if topic.startswith(SHARED_TOPICS):
                self.shared.add(originator_id.int)
            event: Any = mapper.to_domain_event(
                Notification(
                    id=position,
                    originator_id=originator_id,
                    originator_version=version,
                    topic=topic,
                    state=state,
                )
            )
            self.rows.append((originator_id, version, topic, _cut(state), event.timestamp))
        self.per_copy = sum(1 for row in self.rows if row[0].int not in self.shared)


def _cut(state: bytes) -> list[Any]:
    """Literal bytes and (kind, value) tokens, alternating."""
    pieces: list[Any] = []
    at = 0
    for match in _TOKEN.finditer(state):
        pieces.append(state[at : match.start()])
        kind = match.lastgroup
        text = match.group()
        if kind == "dashed" or kind == "hex":
            pieces.append((kind, int(text.replace(b"-", b""), 16)))
        elif kind == "day":
            pieces.append(("day", date.fromisoformat(text.decode())))
        else:
            pieces.append(("email", text))
        at = match.end()
    pieces.append(state[at:])
    return pieces


class _Copy:
    """One replica of the population: its id mask, its day shift and its email tag."""

    def __init__(self, number: int, shift_days: int, shared: set[int]) -> None:
        self.number = number
        self.shift = timedelta(days=shift_days)
        self.mask = 0 if number == 0 else uuid4().int
        self.shared = shared
        self.email = b"@demo.example.org" if number == 0 else b"@c%d.demo.example.org" % number
        self.days: dict[date, bytes] = {}

    def uuid(self, value: int) -> int:
        return value if value in self.shared else value ^ self.mask

    def state(self, pieces: list[Any]) -> bytes:
        out = []
        for piece in pieces:
            if isinstance(piece, bytes):
                out.append(piece)
                continue
            kind, value = piece
            if kind == "hex":
                out.append(b"%032x" % self.uuid(value))
            elif kind == "dashed":
                out.append(str(UUID(int=self.uuid(value))).encode())
            elif kind == "day":
                day = self.days.get(value)
                if day is None:
                    day = self.days[value] = (value + self.shift).isoformat().encode()
                out.append(day)
            else:
                out.append(self.email)
        return b"".join(out)


def _rows(template: _Template, copy: _Copy) -> Iterator[tuple[datetime, int, int]]:
    for index, row in enumerate(template.rows):
        if copy.number and row[0].int in template.shared:
            continue
        yield row[4] + copy.shift, copy.number, index


def replicate(url: str, table: str, template: _Template, events: int) -> int:
    """Rewrite the table as the template and as many copies as make about `events` events,
    merged by time; returns the head."""
    copies = max(1, round((events - len(template.rows)) / template.per_copy) + 1)
    replicas = [
        _Copy(n, 0 if n == 0 else 1 + (n * (SPREAD_DAYS - 1)) // copies, template.shared)
        for n in range(copies)
    ]
    merged = heapq.merge(*(_rows(template, c) for c in replicas))
    statement = sql.SQL(
        "COPY {} (originator_id, originator_version, topic, state, notification_id) FROM STDIN"
    ).format(sql.Identifier(table))
    position = 0
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for _, number, index in merged:
                replica = replicas[number]
                originator_id, version, topic, pieces, _ = template.rows[index]
                position += 1
                copy.write_row(
                    (
                        UUID(int=replica.uuid(originator_id.int)),
                        version,
                        topic,
                        replica.state(pieces),
                        position,
                    )
                )
        row = conn.execute(
            "SELECT pg_get_serial_sequence(%s, 'notification_id')", (table,)
        ).fetchone()
        if row is not None and row[0] is not None:
            conn.execute("SELECT setval(%s, %s)", (row[0], position))
        head_table = f"{table}_head"
        row = conn.execute("SELECT to_regclass(%s)", (head_table,)).fetchone()
        if row is not None and row[0] is not None:
            conn.execute(
                sql.SQL("UPDATE {} SET last = %s").format(sql.Identifier(head_table)), (position,)
            )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    return position


def seed(url: str, folder: Path) -> tuple[int, float]:
    """The population played through the use cases: its events and their rate."""
    from companion.app.demo.clock import SimulatedClock
    from companion.app.demo.seeding import seed_population

    clock = SimulatedClock(datetime.combine(START, datetime.min.time(), UTC))
    companion = bootstrap(settings_for(url, folder), clock=clock)
    try:
        started = time.perf_counter()
        summary = seed_population(
            companion, clock, users=SEED_USERS, days=SEED_DAYS, seed=SEED, start=START
        )
        return summary.events, summary.events / (time.perf_counter() - started)
    finally:
        companion.close()


def _empty(app: Companion, projection: Projection) -> None:
    """The read model's tables emptied and its position forgotten (untimed)."""
    with app.views.write(projection.key) as cursor:
        cursor.execute(f"TRUNCATE {', '.join(projection.tables)}")
        app.views.reset(cursor, projection.key)


def _catch_up(app: Companion, projection: Projection, head: int) -> float:
    _empty(app, projection)
    runner = ProjectionRunner(
        app.application.recorder, app.application.mapper, app.views, [projection],
        batch_size=BATCH,
    )  # fmt: skip
    seconds = timed(lambda: runner.catch_up(projection))
    reached = app.views.position(projection.key)
    if reached != head:
        raise RuntimeError(f"{projection.key} reached {reached}, expected {head}")
    return seconds


def _count(url: str, table: str) -> float:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    with psycopg.connect(url) as conn:
        return timed(lambda: conn.execute(query).fetchone())


def _scan(url: str, table: str) -> float:
    query = sql.SQL("SELECT * FROM {} ORDER BY notification_id").format(sql.Identifier(table))
    with psycopg.connect(url) as conn, conn.cursor(name="bench_scan") as cursor:

        def work() -> None:
            cursor.execute(query)
            while cursor.fetchmany(FETCH):
                pass

        return timed(work)


def _once(ctx: Context, key: str, label: str, count: int, seconds: float, unit: str) -> Figure:
    figure = Figure(key, PG, label, unit, count, [count / seconds])
    ctx.figures.append(figure)
    ctx.echo(f"{PG} · {label}: {figure.median:,.0f} {unit} ({seconds:.2f} s)")
    return figure


def postgres_analytics(ctx: Context) -> None:
    from companion.app.analytics.report import render_report
    from projections.analytics_kpis import compute_kpis

    events = PG_LOG_EVENTS
    with (
        postgres_database(ctx.config.admin_url, "analytics") as url,
        sqlite_directory("pg-analytics") as folder,
    ):
        ctx.status(f"{PG}: seeding {SEED_USERS} users over {SEED_DAYS} days (use cases)")
        seeded, rate = seed(url, folder)
        app = bootstrap(settings_for(url, folder))
        try:
            table = app.application.recorder.events_table_name  # type: ignore[attr-defined]
            ctx.status(f"{PG}: replicating {seeded:,} seeded events to {events:,} (COPY)")
            started = time.perf_counter()
            template = _Template(url, table, app)
            head = replicate(url, table, template, events)
            took = time.perf_counter() - started
            ctx.note(
                f"{PG}: {seeded:,} events seeded through the use cases ({rate:,.0f} events/s),"
                f" replicated to a log of {head:,} events by COPY in {took:.1f} s"
            )
            ctx.status(f"{PG}: raw reads of {head:,} events")
            _count(url, table)  # warm: the table's pages in the buffer cache
            count = _once(ctx, "pg.analytics.raw.count", "(k) raw SELECT count(*)", head,
                          _count(url, table), "rows/s")  # fmt: skip
            scan = _once(ctx, "pg.analytics.raw.read", "(k) raw read, server-side cursor", head,
                         _scan(url, table), "rows/s")  # fmt: skip
            ctx.status(f"{PG}: conversations catch-up from 0 over {head:,} events")
            label = f"(k) conversations catch_up from 0, batch {BATCH}"
            conversations = _catch_up(app, app.read_models.conversations, head)
            base = _once(ctx, "pg.analytics.conversations", label, head, conversations, "events/s")
            ctx.status(f"{PG}: analytics catch-up from 0 over {head:,} events")
            model = app.read_models.analytics
            seconds = _catch_up(app, model, head)
            label = f"(k) analytics catch_up from 0, batch {BATCH}"
            ours = _once(ctx, "pg.analytics.catch_up", label, head, seconds, "events/s")
            ctx.note(
                f"{PG}: analytics catch-up of {head:,} events in {seconds:.1f} s"
                f" ({'met' if seconds < 60 * head / 1e6 else 'not met'}: goal < 60 s a million);"
                f" {ours.median / scan.median:.1%} of the raw read's rate,"
                f" ×{ours.median / base.median:.2f} the conversations catch-up's"
            )
            end = START + timedelta(days=SEED_DAYS + SPREAD_DAYS)
            ctx.status(f"{PG}: compute_kpis {START} – {end} by week")
            samples, report = [], None
            for _ in range(KPI_RUNS):
                started = time.perf_counter()
                report = compute_kpis(app.views, model, start=START, end=end, by="week")
                samples.append(time.perf_counter() - started)
            assert report is not None
            copies = round((head - len(template.rows)) / template.per_copy) + 1
            if report.total.new_users != SEED_USERS * copies:
                raise RuntimeError(
                    f"{report.total.new_users} users signed up, expected {SEED_USERS * copies}"
                )
            kpi_seconds = sorted(samples)[len(samples) // 2]
            figure = Figure("pg.analytics.kpis", PG, "(k) compute_kpis, whole range by week",
                            "events/s", head, [head / s for s in samples])  # fmt: skip
            ctx.figures.append(figure)
            render = timed(lambda: render_report(report, made_at=datetime.now(UTC)))
            ctx.note(
                f"{PG}: compute_kpis over {head:,} events ({report.total.new_users:,} users,"
                f" {len(report.periods)} weeks): {kpi_seconds:.2f} s, median of {KPI_RUNS}"
                f" ({'met' if kpi_seconds < 10 else 'not met'}: goal < 10 s);"
                f" {kpi_seconds / (head / count.median):.1f}× a raw count(*);"
                f" the HTML report rendered in {render * 1000:.0f} ms"
            )
        finally:
            app.close()


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone: python -m benchmarks.bench_analytics [--events N]."""
    global PG_LOG_EVENTS
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_analytics")
    parser.add_argument("--events", type=int, default=PG_LOG_EVENTS, help="size of the log")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    PG_LOG_EVENTS = args.events
    from benchmarks.harness import Config
    from companion.app.logging import configure_logging

    configure_logging("WARNING", "console")
    config = Config(events=args.events, repeats=1, admin_url=args.database_url)
    ctx = Context(config, status=lambda text: print(f"… {text}", flush=True), echo=print)
    postgres_analytics(ctx)
    for note in ctx.notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
