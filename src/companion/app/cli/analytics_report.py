"""`companion analytics report`: the KPIs of a range as one self-contained HTML page.

The page (`app.analytics.report`) holds a KPI table and charts of active
users, cohort retention, revenue, reply latency, moods and relationships, all
inline: it opens offline and runs no script. `register(analytics_app)` adds the
command to a group.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from companion.app.cli.analytics import DEFAULT_DAYS, Grain, parse_day
from companion.app.cli.common import FAILURE, DatabaseUrl, err, fail, opened


def register(analytics_app: typer.Typer) -> None:
    """Add `report` to the `analytics` command group."""
    analytics_app.command("report")(write_report)


def write_report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="the HTML file to write")],
    since: Annotated[
        str | None, typer.Option("--from", help="first UTC day, YYYY-MM-DD (default: 30 days back)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="last UTC day, included (default: today)")
    ] = None,
    by: Annotated[Grain, typer.Option(help="one period a day, ISO week or month")] = Grain.day,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the KPIs of a range of UTC days, with charts, to one HTML file."""
    from companion.app.analytics.report import render_report
    from projections.analytics_kpis import compute_kpis

    end = parse_day(until, "--to", datetime.now(UTC).date())
    start = parse_day(since, "--from", end - timedelta(days=DEFAULT_DAYS - 1))
    if end < start:
        fail("--to is before --from")
    with opened(ctx, database_url, create_store=False) as companion:
        model = companion.read_models.analytics
        companion.runner.catch_up(model)
        report = compute_kpis(companion.views, model, start=start, end=end, by=by.value)
    page = render_report(report, made_at=datetime.now(UTC))
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror or error}", code=FAILURE)
    err.print(f"report of {start} – {end} by {by.value} written to {out}", highlight=False)
