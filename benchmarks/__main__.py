"""python -m benchmarks [--events N] [--quick] [--database-url URL]: run, print, save JSON."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from benchmarks import (
    appends,
    bench_analytics,
    bench_parquet,
    catchup,
    lag,
    load,
    memory,
    sentiment,
    turns,
    ws,
)
from benchmarks.harness import Config, Context
from benchmarks.report import (
    RESULTS,
    Run,
    describe_machine,
    machine_line,
    print_report,
    summarise,
    write_json,
)
from companion.app.logging import configure_logging

DEFAULT_EVENTS = 16_000
QUICK_EVENTS = 3_200
QUICK_REPEATS = 1
QUICK_LOG_EVENTS = 20_000
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

Scenario = tuple[str, str, Callable[[Context], None]]
SCENARIOS: list[Scenario] = [
    ("postgres", "raw inserts", appends.postgres_raw),
    ("postgres", "recorders, 1 / 4 / 16 writers", appends.postgres_recorders),
    ("postgres", "chat turns", appends.postgres_turns),
    ("postgres", "conversation saves", appends.postgres_saves),
    ("postgres", "catch-up", catchup.postgres_catch_up),
    ("postgres", "Parquet export and analytics sql", bench_parquet.postgres_parquet),
    ("postgres", "analytics read model and KPI report", bench_analytics.postgres_analytics),
    ("postgres", "live lag and read-your-writes", lag.postgres_lag),
    ("postgres", "REST chat turns", turns.postgres_rest_turns),
    ("sqlite", "raw inserts", appends.sqlite_raw),
    ("sqlite", "chat turns", appends.sqlite_turns),
    ("sqlite", "conversation saves", appends.sqlite_saves),
    ("sqlite", "catch-up", catchup.sqlite_catch_up),
    ("sqlite", "WebSocket idle connections", ws.connections),
    ("sqlite", "WebSocket chat turns", ws.sqlite_turns),
    ("postgres", "WebSocket chat turns", ws.postgres_turns),
    ("postgres", "WebSocket fan-out through Redis", ws.fanout),
    ("postgres", "mixed load, 1 and 2 API processes", load.postgres_load),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Append and catch-up throughput of the event store, each against a raw-driver "
            "baseline measured in the same run. Each scenario gets a throwaway database."
        ),
    )
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help=(
            f"size of the event log the catch-up reads (default {DEFAULT_EVENTS:,}, "
            "a 2–4 minute run on 2 cores); the append runs are fractions of it"
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: --events {QUICK_EVENTS:,} and {QUICK_REPEATS} timed run a figure",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed runs a figure (default 3); the median counts",
    )
    parser.add_argument(
        "--log-events",
        type=int,
        default=None,
        help=(
            f"size of the PostgreSQL log the catch-up, rebuild and Parquet export read (default "
            f"{catchup.PG_LOG_EVENTS:,}; with --quick {QUICK_LOG_EVENTS:,})"
        ),
    )
    parser.add_argument(
        "--database-url",
        default=ADMIN_URL,
        help=f"PostgreSQL admin URL, used to create and drop the databases (default {ADMIN_URL})",
    )
    parser.add_argument(
        "--backend",
        choices=("all", "postgres", "sqlite"),
        default="all",
        help="run only the PostgreSQL or only the SQLite scenarios",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"where the JSON goes (default {RESULTS})"
    )
    args = parser.parse_args(argv)
    if args.events is not None and args.events < 100:
        parser.error("--events must be at least 100")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = Config(
        events=args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS),
        repeats=args.repeats or (QUICK_REPEATS if args.quick else 3),
        admin_url=args.database_url,
        backends=("postgres", "sqlite") if args.backend == "all" else (args.backend,),
    )
    catchup.PG_LOG_EVENTS = args.log_events or (
        QUICK_LOG_EVENTS if args.quick else catchup.PG_LOG_EVENTS
    )
    bench_parquet.PG_LOG_EVENTS = args.log_events or (
        QUICK_LOG_EVENTS if args.quick else bench_parquet.PG_LOG_EVENTS
    )
    bench_analytics.PG_LOG_EVENTS = args.log_events or (
        QUICK_LOG_EVENTS if args.quick else bench_analytics.PG_LOG_EVENTS
    )
    configure_logging("WARNING", "console")
    out = Console()
    if not out.is_terminal:
        out = Console(width=140)
    err = Console(stderr=True)

    machine = describe_machine(config.admin_url)
    err.print(machine_line(machine), soft_wrap=True)
    scenarios = [s for s in SCENARIOS if s[0] in config.backends]
    failures: list[str] = []
    started = time.perf_counter()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with progress:
        task = progress.add_task("starting", total=len(scenarios))
        ctx = Context(
            config,
            status=lambda text: progress.update(task, description=text),
            echo=lambda text: progress.console.print(text, soft_wrap=True),
        )
        for backend, name, run in scenarios:
            progress.update(task, description=f"{backend}: {name}")
            try:
                run(ctx)
            except Exception as error:
                failures.append(f"{backend} {name}: {type(error).__name__}: {error}")
                progress.console.print(traceback.format_exc(), markup=False, highlight=False)
            progress.advance(task)
    seconds = time.perf_counter() - started
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    accuracy = sentiment.evaluate_all()
    ctx.notes.append(sentiment.summary(accuracy))
    remembered = memory.evaluate(small=args.quick)
    ctx.notes.append(memory.summary(remembered))

    ratios, goals = summarise(config, ctx.figures)
    result = Run(config, machine, ctx.figures, ratios, goals, ctx.notes, failures, seconds)
    print_report(out, result)
    sentiment.print_evaluation(out, accuracy)
    memory.print_evaluation(out, remembered)
    write_json(args.output, result)
    err.print(f"results written to {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
