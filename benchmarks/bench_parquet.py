"""The Parquet export and SQL over it, on a large PostgreSQL log, against a raw COPY of the log.

PostgreSQL: a log of `PG_LOG_EVENTS` events (a million; `python -m benchmarks
--log-events N` or --quick for less, or `python -m benchmarks.bench_parquet
--events N` alone), chat turns round-robin over a thousand conversations,
written by COPY from stored events the application's mapper encoded (see
`eventlog`). Then, in one run:

(e) raw   ``COPY (SELECT notification_id, originator_id, originator_version,
          topic, state FROM <events> ORDER BY notification_id) TO STDOUT``
          through psycopg, every byte read and nothing parsed (text format, as
          psql would; binary as a diagnostic);
    ours  what ``companion events export --format parquet --out DIR`` does,
          timed in this process without its progress bar: head, attributions,
          every event attributed with its state as JSON, partitioned by day and
          type (shared between processes, one a processor); then the command
          itself as its own process, wall time with its start (a note);
    sql   three questions over the export with DuckDB, as ``companion analytics
          sql --parquet DIR`` asks them: seconds each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.eventlog import copy_log
from benchmarks.harness import (
    Context,
    Figure,
    companion,
    postgres_database,
    sqlite_directory,
    timed,
)
from companion.app.bootstrap import Companion

PG = "PostgreSQL Parquet export"
PG_LOG_EVENTS = 1_000_000
"""Size of the log; `python -m benchmarks --log-events N` (or --quick) for less."""
QUESTIONS = {
    "messages per user per day": (
        "SELECT user_id, CAST(time AS DATE) AS day, count(*) FROM events"
        " WHERE type = 'Conversation.UserMessageSent' GROUP BY ALL ORDER BY ALL"
    ),
    "replies by model, average length": (
        "SELECT state->>'model' AS model, count(*) AS replies, round(avg(text_chars), 1)"
        " AS average_chars FROM events WHERE type = 'Conversation.CompanionReplied'"
        " GROUP BY ALL ORDER BY ALL"
    ),
    "events per type": "SELECT type, count(*) FROM events GROUP BY ALL ORDER BY ALL",
}


def _copy_out(url: str, table: str, binary: bool) -> float:
    query = sql.SQL(
        "COPY (SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM {} ORDER BY notification_id) TO STDOUT" + (" (FORMAT binary)" if binary else "")
    ).format(sql.Identifier(table))
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        with cursor.copy(query) as copy:
            for _ in copy:
                pass
        return time.perf_counter() - started


def _export(url: str, folder: Path, out: Path) -> float:
    """`companion events export --format parquet` in a process of its own: wall seconds."""
    env = {
        **os.environ,
        "COMPANION_DATABASE_URL": url,
        "COMPANION_DATA_DIR": str(folder),
        "COMPANION_CATALOGUE_DEFAULTS": "false",
        "COMPANION_LOG_LEVEL": "WARNING",
    }
    companion_cli = str(Path(sys.executable).with_name("companion"))
    command = [companion_cli, "events", "export", "--format", "parquet", "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - started


def _export_in_process(app: Companion, out: Path) -> int:
    """What `events export --format parquet --out DIR` does, without its progress bar."""
    from companion.app.cli.parquet_export import write_parquet
    from companion.app.event_log import EventFilter, log_head, read_attributions

    head = log_head(app.application)
    attributions = read_attributions(app.application, head=head)
    return write_parquet(
        app, out, EventFilter(), head=head, attributions=attributions, redact=False,
        show_progress=False,
    )  # fmt: skip


def _once(ctx: Context, key: str, label: str, count: int, seconds: float, unit: str) -> Figure:
    figure = Figure(key, PG, label, unit, count, [count / seconds])
    ctx.figures.append(figure)
    ctx.echo(f"{PG} · {label}: {figure.median:,.0f} {unit} ({seconds:.2f} s)")
    return figure


def postgres_parquet(ctx: Context) -> None:
    from companion.app.cli.analytics_sql import ask

    events = PG_LOG_EVENTS
    with (
        postgres_database(ctx.config.admin_url, "parquet") as url,
        sqlite_directory("pg-parquet") as folder,
        companion(url, folder) as app,
    ):
        ctx.status(f"{PG}: writing {events:,} events (COPY)")
        table = app.application.recorder.events_table_name  # type: ignore[attr-defined]
        conversations = max(4, min(1000, events // 1000))
        head = copy_log(url, table, app.application.mapper, events, conversations)
        ctx.status(f"{PG}: raw COPY of {head:,} events")
        _copy_out(url, table, binary=False)  # warm: the table's pages in the buffer cache
        raw = _once(
            ctx, "pg.raw.copy", "(e) raw COPY … TO STDOUT (text)", head,
            _copy_out(url, table, binary=False), "rows/s",
        )  # fmt: skip
        _once(
            ctx, "pg.raw.copy_binary", "    diagnostic: raw COPY … TO STDOUT (binary)", head,
            _copy_out(url, table, binary=True), "rows/s",
        ).diagnostic = True  # fmt: skip
        ctx.status(f"{PG}: the Parquet export of {head:,} events")
        out = folder / "export"
        seconds = timed(lambda: _export_in_process(app, out))
        ours = _once(
            ctx, "pg.parquet.export", "(e) Parquet export (head, attributions, dataset)",
            head, seconds, "events/s",
        )  # fmt: skip
        size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
        ctx.note(
            f"{PG}: {head:,} events exported to Parquet in {seconds:.1f} s, {size / 1e6:,.1f} MB:"
            f" {ours.median / raw.median:.1%} of the raw COPY's rate (goal ≥ 30 %)"
        )
        ctx.status(f"{PG}: companion events export --format parquet, its own process")
        seconds = _export(url, folder, folder / "export-2")
        ctx.note(
            f"{PG}: `companion events export --format parquet` over {head:,} events:"
            f" {seconds:.1f} s wall time, process start included"
        )
        for name, question in QUESTIONS.items():
            ctx.status(f"{PG}: analytics sql — {name}")
            started = time.perf_counter()
            ask(question, out)
            took = time.perf_counter() - started
            _once(ctx, f"pg.parquet.sql.{name}", f"(e) analytics sql: {name}", head, took,
                  "events/s")  # fmt: skip
            ctx.note(f"{PG}: analytics sql over {head:,} events, {name}: {took:.2f} s")


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone: python -m benchmarks.bench_parquet [--events N]."""
    global PG_LOG_EVENTS
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_parquet")
    parser.add_argument("--events", type=int, default=PG_LOG_EVENTS, help="size of the log")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    PG_LOG_EVENTS = args.events
    from benchmarks.harness import Config

    config = Config(events=args.events, repeats=1, admin_url=args.database_url)
    ctx = Context(config, status=lambda text: None, echo=print)
    postgres_parquet(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
