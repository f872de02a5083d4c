"""`companion analytics …`: the business's KPIs and per-user insights, from the read model.

`analytics_app` is the command group; other modules may add their commands to it.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from companion.app.cli.common import DatabaseUrl, fail, opened, out, quiet_broken_pipe

if TYPE_CHECKING:
    from projections.analytics_kpis import KpiReport

analytics_app = typer.Typer(
    help="The business's figures: KPIs and per-user insights.", no_args_is_help=True
)

DEFAULT_DAYS = 30


class Grain(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def parse_day(value: str | None, option: str, default: date) -> date:
    """A UTC date given as YYYY-MM-DD (or the default)."""
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


@analytics_app.command("kpis")
def kpis(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--from", help="first UTC day, YYYY-MM-DD (default: 30 days back)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="last UTC day, included (default: today)")
    ] = None,
    by: Annotated[Grain, typer.Option(help="one row per day, ISO week or month")] = Grain.day,
    output: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    database_url: DatabaseUrl = None,
) -> None:
    """DAU/WAU/MAU, sessions, retention, revenue, latency, mood… over a range of UTC days."""
    from projections.analytics_kpis import compute_kpis

    end = parse_day(until, "--to", datetime.now(UTC).date())
    start = parse_day(since, "--from", end - timedelta(days=DEFAULT_DAYS - 1))
    if end < start:
        fail("--to is before --from")
    with opened(ctx, database_url, create_store=False) as companion:
        model = companion.read_models.analytics
        companion.runner.catch_up(model)
        report = compute_kpis(companion.views, model, start=start, end=end, by=by.value)
    with quiet_broken_pipe():
        _print(report, output)


def _print(report: KpiReport, output: Format) -> None:
    from companion.app.analytics.shaping import flat_rows, plain

    if output is Format.json:
        out.print(json.dumps(plain(report), ensure_ascii=False, indent=2), highlight=False)
        return
    rows = flat_rows(report)
    if output is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=f"KPIs {report.start} – {report.end} (UTC days, by {report.by})")
    table.add_column("kpi", no_wrap=True)
    for row in rows:
        table.add_column(str(row["period"]), justify="right", no_wrap=True)
    for name in list(rows[0])[1:]:
        table.add_row(name, *(_cell(row[name]) for row in rows))
    out.print(table)


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@analytics_app.command("insights")
def insights(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option(help="as of the end of this UTC day")] = None,
    output: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    database_url: DatabaseUrl = None,
) -> None:
    """Each user's engagement score and churn risk over the 28 days up to a day."""
    from companion.app.analytics.shaping import plain
    from projections.analytics_insights import user_insights

    day = parse_day(at, "--at", datetime.now(UTC).date())
    with opened(ctx, database_url, create_store=False) as companion:
        model = companion.read_models.analytics
        companion.runner.catch_up(model)
        found = [plain(insight) for insight in user_insights(companion.views, model, at=day)]
    with quiet_broken_pipe():
        if output is Format.json:
            out.print(json.dumps(found, ensure_ascii=False, indent=2), highlight=False)
        elif output is Format.csv:
            names = list(found[0]) if found else ["user_id"]
            writer = csv.DictWriter(sys.stdout, fieldnames=names, lineterminator="\n")
            writer.writeheader()
            writer.writerows(found)
        else:
            table = Table(title=f"Users as of {day} (UTC)")
            for name in ("user_id", "active_days", "messages", "engagement", "churn_risk", "risk"):
                table.add_column(name)
            for insight in found:
                table.add_row(
                    *(str(insight[name]) for name in ("user_id", "active_days", "messages")),
                    str(insight["engagement"]),
                    str(insight["churn_risk"]),
                    str(insight["risk"]),
                )
            out.print(table)
