"""The KPI report as one self-contained HTML page: a table of KPIs and six charts.

Everything is inline (CSS and SVG): the file opens offline, with no script. The
figures are those of `compute_kpis`; the cohort heatmap reads each period's
retention (the period's sign-ups seen again 1, 7 and 30 days later). Every
text from the data — character names above all — is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from companion.app.analytics.report_charts import (
    Series,
    bar_chart,
    compact,
    esc,
    heatmap,
    level_bar,
    line_chart,
    share_chart,
)

if TYPE_CHECKING:
    from projections.analytics_kpis import CharacterProgress, KpiPeriod, KpiReport

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MOODS = {
    "very_low": ("very low", "#b91c1c"),
    "low": ("low", "#f97316"),
    "neutral": ("neutral", "#a8a29e"),
    "high": ("high", "#34d399"),
    "very_high": ("very high", "#047857"),
}
RETENTION = (("day1", "day 1"), ("day7", "day 7"), ("day30", "day 30"))
MOST_LEVEL = 10
"""The highest relationship level (companion.domain.characters.MAX_RELATIONSHIP_LEVEL)."""
CHARACTER_ROWS = 40
"""The most characters listed; the rest are counted."""

STYLE = """
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb;
  --card: #ffffff; --page: #f6f7fb; --accent: #4f46e5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Noto Sans CJK JP", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 28px 48px; }
header { display: flex; justify-content: space-between; align-items: flex-end; gap: 24px;
  border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 22px; }
h1 { font-size: 26px; margin: 0; letter-spacing: -0.01em; }
header .range { font-size: 16px; color: var(--ink); margin-top: 4px; }
header .made { color: var(--muted); font-size: 12px; text-align: right; }
h2 { font-size: 16px; margin: 0 0 2px; }
.sub { color: var(--muted); font-size: 12px; margin: 0 0 10px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(108px, 1fr));
  gap: 10px; margin-bottom: 22px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 10px 14px; }
.tile .name { color: var(--muted); font-size: 12px; }
.tile .value { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 16px 18px; margin-bottom: 18px; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px; }
.grid .card { margin-bottom: 0; }
.charts { margin-bottom: 18px; }
svg.chart { width: 100%; height: auto; display: block; font-family: inherit; }
.no-data { color: var(--muted); font-style: italic; margin: 28px 0; text-align: center; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 8px; font-size: 13px; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafafa; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: 650; border-top: 2px solid var(--ink); border-bottom: none; }
td.name { max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
td .level-bar { vertical-align: middle; margin-left: 8px; }
.split { display: flex; gap: 32px; align-items: center; }
.split-chart { flex: 0 1 560px; min-width: 0; }
table.bands { flex: 0 1 340px; width: auto; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 8px; }
.up { color: #047857; } .down { color: #b91c1c; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
"""


def render_report(report: KpiReport, *, made_at: datetime) -> str:
    """The whole page for a report, made at `made_at` (shown in its header)."""
    labels = [axis_label(p.start, report.by) for p in report.periods]
    unit = {"day": "day", "week": "week starting", "month": "month"}[report.by]
    sections = [
        _card("Active users", "DAU (mean over the period), WAU and MAU at its end",
              _activity(report.periods, labels, unit)),
        _card("Retention by sign-up cohort",
              "share of each period's new users active again on day 1, 7 and 30",
              _retention(report)),
        _card("Revenue", "yen paid per period", _revenue(report.periods, labels, unit)),
        _card("Reply latency", "percentiles of the model's reply time (ms)",
              _latency(report.periods, labels, unit)),
    ]  # fmt: skip
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Companion KPIs {esc(report.start)} – {esc(report.end)}</title>",
            f"<style>{STYLE}</style></head><body><main>",
            _header(report, made_at),
            _tiles(report.total),
            _card(
                "KPIs",
                f"one row per {report.by}; the last row is the whole range",
                _kpi_table(report),
            ),
            f'<div class="grid charts">{"".join(sections)}</div>',
            _card(
                "Mood distribution",
                "characters' mood changes by mood band, per period and over the whole range",
                _moods(report.periods, report.total, labels, unit),
            ),
            _card(
                "Relationships",
                "each character's level over the range, and its mood",
                _characters(report.characters),
            ),
            "<footer>Days are UTC dates; both ends of the range are included. Figures from"
            " the analytics read model.</footer>",
            "</main></body></html>\n",
        ]
    )


def axis_label(day: date, by: str) -> str:
    if by == "month":
        return f"{MONTHS[day.month - 1]} {day.year}"
    return f"{MONTHS[day.month - 1]} {day.day}"


def period_name(period: KpiPeriod, by: str) -> str:
    if by == "month":
        return period.start.strftime("%Y-%m")
    if period.start == period.end:
        return period.start.isoformat()
    return f"{period.start.isoformat()} – {period.end.strftime('%m-%d')}"


def _card(title: str, note: str, body: str) -> str:
    return (
        f'<section class="card"><h2>{esc(title)}</h2><p class="sub">{esc(note)}</p>{body}</section>'
    )


def _no_data(what: str) -> str:
    return f'<p class="no-data">No data: {esc(what)}.</p>'


def _header(report: KpiReport, made_at: datetime) -> str:
    days = (report.end - report.start).days + 1
    return (
        "<header><div><h1>Companion KPIs</h1>"
        f'<div class="range">{esc(report.start.isoformat())} – {esc(report.end.isoformat())}'
        f" · {days} day{'s' * (days != 1)} by {esc(report.by)}</div></div>"
        f'<div class="made">made {esc(made_at.strftime("%Y-%m-%d %H:%M"))} UTC<br>'
        f"{len(report.periods)} period{'s' * (len(report.periods) != 1)}"
        f" · {len(report.characters)} characters</div></header>"
    )


def _tiles(total: KpiPeriod) -> str:
    tiles = [
        ("new users", _number(total.new_users)),
        ("active users", _number(total.active_users)),
        ("DAU (mean)", _number(total.dau)),
        ("MAU at end", _number(total.mau)),
        ("stickiness", _share(total.stickiness)),
        ("messages", _number(total.messages)),
        ("revenue", _yen(total.revenue_yen)),
        ("conversion", _share(total.conversion)),
        ("p95 latency", _ms(total.latency_ms.get("p95"))),
    ]
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="name">{esc(name)}</div>'
        f'<div class="value">{esc(value)}</div></div>'
        for name, value in tiles
    ) + "</div>"  # fmt: skip


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value != int(value):
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _yen(value: float | None) -> str:
    return "–" if value is None else f"¥{value:,.0f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


COLUMNS: tuple[tuple[str, Callable[[KpiPeriod], str]], ...] = (
    ("new users", lambda p: _number(p.new_users)),
    ("DAU", lambda p: _number(p.dau)),
    ("WAU", lambda p: _number(p.wau)),
    ("MAU", lambda p: _number(p.mau)),
    ("sticky", lambda p: _share(p.stickiness)),
    ("sessions", lambda p: _number(p.sessions)),
    ("messages", lambda p: _number(p.messages)),
    ("revenue", lambda p: _yen(p.revenue_yen)),
    ("ARPU", lambda p: _yen(p.arpu)),
    ("conversion", lambda p: _share(p.conversion)),
    ("churn", lambda p: _share(p.churn)),
    ("replies", lambda p: _number(p.replies)),
    ("p50 / p95", lambda p: f"{_ms(p.latency_ms.get('p50'))} / {_ms(p.latency_ms.get('p95'))}"),
    ("mood", lambda p: _number(p.mood_mean)),
)


def _kpi_table(report: KpiReport) -> str:
    head = "".join(f"<th>{esc(name)}</th>" for name, _ in COLUMNS)
    rows = [
        f"<tr><td>{esc(period_name(p, report.by))}</td>"
        + "".join(f"<td>{esc(cell(p))}</td>" for _, cell in COLUMNS)
        + "</tr>"
        for p in report.periods
    ]
    rows.append(
        '<tr class="total"><td>total</td>'
        + "".join(f"<td>{esc(cell(report.total))}</td>" for _, cell in COLUMNS)
        + "</tr>"
    )
    return (
        f'<div class="table-wrap"><table class="kpis"><thead><tr><th>period</th>{head}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _activity(periods: Sequence[KpiPeriod], labels: list[str], unit: str) -> str:
    if not any(p.dau or p.mau for p in periods):
        return _no_data("nobody was active in this range")
    series = [
        Series("DAU", [p.dau for p in periods], "#4f46e5"),
        Series("WAU", [p.wau for p in periods], "#0d9488"),
        Series("MAU", [p.mau for p in periods], "#d97706"),
    ]
    return line_chart("activity", "Active users", labels, series, y_title="users", x_title=unit)


def _retention(report: KpiReport) -> str:
    cohorts = [p for p in report.periods if p.new_users]
    if not cohorts:
        return _no_data("nobody signed up in this range")
    rows = [f"{period_name(p, report.by)} · {p.new_users:,}" for p in cohorts]
    values = [[p.retention.get(key) for key, _ in RETENTION] for p in cohorts]
    return heatmap(
        "retention", "Retention by sign-up cohort", rows, [n for _, n in RETENTION], values
    )


def _revenue(periods: Sequence[KpiPeriod], labels: list[str], unit: str) -> str:
    if not any(p.revenue_yen for p in periods):
        return _no_data("no revenue in this range")
    return bar_chart(
        "revenue",
        "Revenue",
        labels,
        [p.revenue_yen for p in periods],
        colour="#0d9488",
        name="revenue (¥)",
        fmt=lambda v: f"¥{compact(v)}",
        exact=_yen,
        y_title="yen",
        x_title=unit,
    )


def _latency(periods: Sequence[KpiPeriod], labels: list[str], unit: str) -> str:
    if not any(p.replies for p in periods):
        return _no_data("no replies in this range")
    series = [
        Series(name, [p.latency_ms.get(name) for p in periods], colour)
        for name, colour in (("p50", "#0ea5e9"), ("p95", "#f59e0b"), ("p99", "#dc2626"))
    ]
    return line_chart(
        "latency", "Reply latency", labels, series, fmt=lambda v: f"{compact(v)}",
        y_title="milliseconds", x_title=unit,
    )  # fmt: skip


def _moods(periods: Sequence[KpiPeriod], total: KpiPeriod, labels: list[str], unit: str) -> str:
    if not any(p.mood_changes for p in periods):
        return _no_data("no mood changed in this range")
    bands = [
        Series(name, [p.mood_bands.get(band, 0) for p in periods], colour)
        for band, (name, colour) in MOODS.items()
    ]
    chart = share_chart("mood", "Mood distribution", labels, bands, x_title=unit)
    rows = "".join(
        f'<tr><td><span class="swatch" style="background:{colour}"></span>{esc(name)}</td>'
        f"<td>{total.mood_bands.get(band, 0):,}</td>"
        f"<td>{esc(_share(_part(total.mood_bands.get(band, 0), total.mood_changes)))}</td></tr>"
        for band, (name, colour) in MOODS.items()
    )
    summary = (
        '<table class="bands"><thead><tr><th>band</th><th>changes</th><th>share</th></tr>'
        f'</thead><tbody>{rows}</tbody><tfoot><tr class="total"><td>all</td>'
        f"<td>{total.mood_changes:,}</td><td>mean {esc(_number(total.mood_mean))}</td></tr>"
        "</tfoot></table>"
    )
    return f'<div class="split"><div class="split-chart">{chart}</div>{summary}</div>'


def _part(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _characters(characters: Sequence[CharacterProgress]) -> str:
    if not characters:
        return _no_data("no character existed by the end of this range")
    order = sorted(characters, key=lambda c: (-c.level_end, -c.level_ups, -c.mood_changes, c.name))
    shown = order[:CHARACTER_ROWS]
    rows = []
    for c in shown:
        moved = c.level_end - c.level_start
        trend = (
            f'<span class="up">+{moved}</span>' if moved > 0
            else f'<span class="down">{moved}</span>' if moved < 0 else "±0"
        )  # fmt: skip
        rows.append(
            f'<tr class="character"><td class="name" title="{esc(c.name)}">'
            f"{esc(c.name) or '<i>forgotten</i>'}</td>"
            f"<td>{c.level_start} → {c.level_end} ({trend})"
            f"{level_bar(c.level_start, c.level_end, MOST_LEVEL)}</td>"
            f"<td>{c.level_ups}</td><td>{c.level_downs}</td><td>{c.mood_changes:,}</td>"
            f"<td>{esc(_number(c.mood_mean))}</td><td>{esc(_number(c.mood_end))}</td></tr>"
        )
    more = len(characters) - len(shown)
    note = (
        f'<p class="sub">The {len(shown)} characters at the highest levels of'
        f" {len(characters):,}.</p>"
        if more
        else ""
    )
    return (
        f'{note}<div class="table-wrap"><table class="characters"><thead><tr>'
        "<th>character</th><th>level</th><th>level-ups</th><th>level-downs</th>"
        "<th>mood changes</th><th>mean mood</th><th>mood at end</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
