"""The machine, the figures, their ratios and the goals: a rich table on stdout and JSON."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import psycopg
from rich.console import Console
from rich.table import Table

from benchmarks.harness import Config, Figure

RESULTS = Path(__file__).parent / "results" / "latest.json"
BACKENDS = {"pg": "PostgreSQL", "sqlite": "SQLite"}


# -- the machine -------------------------------------------------------------------------------


def describe_machine(admin_url: str) -> dict[str, Any]:
    machine: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for package in ("eventsourcing", "psycopg", "psycopg-binary"):
        try:
            machine[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            machine[package] = None
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            settings = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
            }
        machine["postgres"] = settings
    except psycopg.OperationalError as error:
        machine["postgres"] = {"error": str(error).strip().splitlines()[0]}
    return machine


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line(machine: dict[str, Any]) -> str:
    pg = machine["postgres"]
    if "error" in pg:
        postgres = f"PostgreSQL unreachable ({pg['error']})"
    else:
        postgres = (
            f"PostgreSQL {pg['server_version'].split()[0]} (fsync {pg['fsync']}, "
            f"synchronous_commit {pg['synchronous_commit']}, shared_buffers "
            f"{pg['shared_buffers']})"
        )
    driver = "binary" if machine["psycopg-binary"] else "pure Python"
    load = " ".join(str(x) for x in machine["load_average"])
    return (
        f"machine: nproc {machine['nproc']}, CPU {machine['cpu']}; {postgres}; "
        f"SQLite {machine['sqlite']}; Python {machine['python']}; "
        f"eventsourcing {machine['eventsourcing']}; psycopg {machine['psycopg']} ({driver}); "
        f"load average at start {load}"
    )


# -- ratios and goals --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    label: str
    numerator: str
    denominator: str
    kind: Literal["share", "factor"]
    value: float | None = None


@dataclass(frozen=True)
class Goal:
    label: str
    numerator: str
    denominator: str
    target: float
    value: float | None = None

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value >= self.target


def _ratio_specs(prefix: str, threads: int) -> list[Ratio]:
    name = BACKENDS[prefix]
    specs = []
    for n in (1, threads):
        conn = f"{n} conn" if n == 1 else f"{n} conns"
        specs += [
            Ratio(
                f"{name}: (b1) chat turns / (a) raw inserts, {conn}",
                f"{prefix}.app.turns.{n}",
                f"{prefix}.raw.insert.{n}",
                "share",
            ),
            Ratio(
                f"{name}: (b2) save_all / (a) raw inserts, {conn}",
                f"{prefix}.app.save.{n}",
                f"{prefix}.raw.insert.{n}",
                "share",
            ),
        ]
    for n in (1, 4, 16):
        specs.append(
            Ratio(
                f"{name}: (a2) our recorder / the library's, {n} writer{'s' * (n > 1)}",
                f"{prefix}.append.ours.{n}",
                f"{prefix}.append.library.{n}",
                "factor",
            )
        )
    for what, key in (
        ("(a) raw inserts", "raw.insert"),
        ("(a) raw inserts, pipelined BEGIN…COMMIT", "raw.insert_pipeline"),
        ("(a) raw inserts, pipelined BEGIN…COMMIT + LOCK TABLE", "raw.insert_locked"),
        ("(a) raw inserts, no process lock", "raw.insert_busy"),
        ("(b1) chat turns", "app.turns"),
        ("(b2) save_all", "app.save"),
    ):
        specs.append(
            Ratio(
                f"{name}: {what}, {threads} writers / 1 writer",
                f"{prefix}.{key}.{threads}",
                f"{prefix}.{key}.1",
                "factor",
            )
        )
    for what, key in (
        ("catch_up, batch 500", "catchup.catch_up.500"),
        ("rebuild, batch 500", "catchup.rebuild.500"),
        ("catch_up, batch 2000", "catchup.catch_up.2000"),
        ("catch_up, batch 5000", "catchup.catch_up.5000"),
        ("diagnostic: select_notifications only", "read.select"),
        ("diagnostic: select_notifications + decode", "read.decode"),
    ):
        specs.append(
            Ratio(
                f"{name}: (c) {what} / raw read", f"{prefix}.{key}", f"{prefix}.raw.read", "share"
            )
        )
    return specs


def _goal_specs(prefix: str, threads: int) -> list[Goal]:
    name = BACKENDS[prefix]
    goals = [
        Goal(
            f"{name}: our recorder ≥ 50 % of raw inserts — 1 event/txn, {n} writer{'s' * (n > 1)}",
            f"{prefix}.append.ours.{n}",
            f"{prefix}.append.raw.{n}",
            0.5,
        )
        for n in (1, 4, 16)
    ]
    for what, key in (("chat turns (b1)", "app.turns"), ("save_all (b2)", "app.save")):
        for n in (1, threads):
            goals.append(
                Goal(
                    f"{name}: appends ≥ 50 % of raw inserts — {what}, {n} writer{'s' * (n > 1)}",
                    f"{prefix}.{key}.{n}",
                    f"{prefix}.raw.insert.{n}",
                    0.5,
                )
            )
    for what, key in (
        ("catch_up, batch 500 (default)", "catchup.catch_up.500"),
        ("rebuild, batch 500", "catchup.rebuild.500"),
        ("catch_up, batch 2000", "catchup.catch_up.2000"),
        ("catch_up, batch 5000", "catchup.catch_up.5000"),
    ):
        goals.append(
            Goal(
                f"{name}: catch-up ≥ 30 % of a raw read — {what}",
                f"{prefix}.{key}",
                f"{prefix}.raw.read",
                0.3,
            )
        )
    return goals


def _value(figures: dict[str, Figure], numerator: str, denominator: str) -> float | None:
    top, bottom = figures.get(numerator), figures.get(denominator)
    if top is None or bottom is None or bottom.median == 0:
        return None
    return top.median / bottom.median


def summarise(config: Config, found: list[Figure]) -> tuple[list[Ratio], list[Goal]]:
    figures = {figure.key: figure for figure in found}
    ratios: list[Ratio] = []
    goals: list[Goal] = []
    for prefix in BACKENDS:
        for ratio in _ratio_specs(prefix, config.threads):
            value = _value(figures, ratio.numerator, ratio.denominator)
            if value is not None:
                ratios.append(Ratio(**{**asdict(ratio), "value": value}))
        for goal in _goal_specs(prefix, config.threads):
            value = _value(figures, goal.numerator, goal.denominator)
            if value is not None:
                goals.append(Goal(**{**asdict(goal), "value": value}))
    return ratios, goals


# -- printing ----------------------------------------------------------------------------------


def _format_ratio(ratio: Ratio) -> str:
    assert ratio.value is not None
    if ratio.kind == "factor":
        return f"×{ratio.value:.2f}"
    return f"{100 * ratio.value:.1f} %"


@dataclass(frozen=True)
class Run:
    """Everything one run of the suite measured, for the console and for JSON."""

    config: Config
    machine: dict[str, Any]
    figures: list[Figure]
    ratios: list[Ratio]
    goals: list[Goal]
    notes: list[str]
    failures: list[str]
    seconds: float


def print_report(console: Console, run: Run) -> None:
    console.print(machine_line(run.machine), soft_wrap=True)
    load = " ".join(str(x) for x in run.machine["load_average_at_end"])
    console.print(
        f"run: --events {run.config.events}, {run.config.repeats} timed runs a figure "
        f"(median shown, after an untimed warm-up), {run.config.threads} writer threads, "
        f"{run.seconds:.0f} s in all, load average at end {load}",
        soft_wrap=True,
    )
    results = Table(title="Throughput (median of timed runs)", title_justify="left")
    results.add_column("scenario")
    results.add_column("median", justify="right")
    results.add_column("unit")
    results.add_column("runs min–max", justify="right")
    results.add_column("items/run", justify="right")
    group = None
    for figure in run.figures:
        if figure.group != group:
            if group is not None:
                results.add_section()
            results.add_row(f"[bold]{figure.group}[/bold]", "", "", "", "")
            group = figure.group
        style = "dim" if figure.diagnostic else None
        results.add_row(
            f"  {figure.label}",
            f"{figure.median:,.0f}",
            figure.unit,
            f"{min(figure.samples):,.0f}–{max(figure.samples):,.0f}",
            f"{figure.count:,}",
            style=style,
        )
    console.print(results)

    table = Table(title="Ratios (of medians)", title_justify="left")
    table.add_column("ratio")
    table.add_column("value", justify="right")
    for ratio in run.ratios:
        table.add_row(ratio.label, _format_ratio(ratio))
    console.print(table)

    table = Table(title="Goals for later work", title_justify="left")
    table.add_column("goal")
    table.add_column("measured", justify="right")
    table.add_column("status")
    for goal in run.goals:
        assert goal.value is not None
        status = "[green]met[/green]" if goal.met else "[red]not met[/red]"
        table.add_row(goal.label, f"{100 * goal.value:.1f} %", status)
    console.print(table)

    for note in run.notes:
        console.print(f"note: {note}", soft_wrap=True)
    for failure in run.failures:
        console.print(f"[red]failed:[/red] {failure}", soft_wrap=True)


def write_json(path: Path, run: Run) -> None:
    payload = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(run.seconds, 1),
        "config": {
            "events": run.config.events,
            "repeats": run.config.repeats,
            "threads": run.config.threads,
            "backends": list(run.config.backends),
        },
        "machine": run.machine,
        "figures": [{**asdict(figure), "median": figure.median} for figure in run.figures],
        "ratios": [asdict(ratio) for ratio in run.ratios],
        "goals": [{**asdict(goal), "met": goal.met} for goal in run.goals],
        "notes": run.notes,
        "failures": run.failures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
