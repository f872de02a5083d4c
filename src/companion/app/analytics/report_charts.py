"""Charts as inline SVG: lines, bars, 100 % stacked columns and a heatmap, with axes and legends.

Every chart is a string of SVG that needs no script, font file or network to
show. The x axis is a band per period, so one period draws as one centred
point or bar. Every text drawn passes through `esc`; every mark carries a
`<title>` with its exact value, which a browser shows on hover.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 560
HEIGHT = 290
LEFT, RIGHT, TOP, BOTTOM = 58, 18, 44, 46
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
LABEL_ROOM = 58
"""The fewest pixels between two x labels."""
MAX_BAR = 46
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"

Format = Callable[[float], str]


def esc(text: object) -> str:
    """Text made safe for HTML and SVG, quotes included."""
    return escape(str(text), quote=True)


@dataclass(frozen=True)
class Series:
    """One named line (or band) of values, one per period; None where there is no value."""

    name: str
    values: Sequence[float | None]
    colour: str


def compact(value: float) -> str:
    """1234 → 1.2k, 2500000 → 2.5M; small numbers as they are."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if value != int(value) else f"{int(value)}"


def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 up to at least `top` in round steps (1, 2 or 5 × a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    steps = math.ceil(top / step - 1e-9)
    return [i * step for i in range(steps + 1)]


def _x(index: int, count: int) -> float:
    """The centre of a period's band."""
    return LEFT + PLOT_W * (index + 0.5) / count


def _y(value: float, top: float) -> float:
    return TOP + PLOT_H * (1 - value / top)


def _open(key: str, title: str, height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" data-chart="{esc(key)}" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" role="img" aria-label="{esc(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>'
    )


def _legend(entries: Sequence[tuple[str, str]], swatch: str = "line") -> str:
    """Swatches and names along the top, left to right."""
    parts = ['<g class="legend">']
    x: float = LEFT
    for name, colour in entries:
        if swatch == "line":
            mark = (
                f'<line x1="{x}" y1="16" x2="{x + 16}" y2="16" stroke="{colour}"'
                ' stroke-width="3" stroke-linecap="round"/>'
            )
        else:
            mark = f'<rect x="{x}" y="10" width="12" height="12" rx="2" fill="{colour}"/>'
        parts.append(
            f'<g class="legend-item">{mark}<text x="{x + 21}" y="20" font-size="12"'
            f' fill="{INK}">{esc(name)}</text></g>'
        )
        x += 40 + 7.5 * len(name)
    parts.append("</g>")
    return "".join(parts)


def _y_axis(ticks: Sequence[float], fmt: Format, title: str) -> str:
    top = ticks[-1]
    parts = ['<g class="axis y-axis">']
    for tick in ticks:
        y = _y(tick, top)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end"'
            f' fill="{MUTED}">{esc(fmt(tick))}</text>'
        )
    parts.append(
        f'<text x="14" y="{TOP + PLOT_H / 2:.1f}" font-size="11" fill="{MUTED}"'
        f' text-anchor="middle" transform="rotate(-90 14 {TOP + PLOT_H / 2:.1f})">'
        f"{esc(title)}</text></g>"
    )
    return "".join(parts)


def _x_axis(labels: Sequence[str], title: str) -> str:
    count = len(labels)
    every = max(1, math.ceil(count * LABEL_ROOM / PLOT_W))
    base = TOP + PLOT_H
    parts = [
        f'<g class="axis x-axis"><line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}"'
        f' y2="{base}" stroke="{MUTED}"/>'
    ]
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = _x(index, count)
        parts.append(
            f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="{MUTED}"/>'
            f'<text x="{x:.1f}" y="{base + 17}" font-size="11" text-anchor="middle"'
            f' fill="{MUTED}">{esc(label)}</text>'
        )
    parts.append(
        f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{HEIGHT - 6}" font-size="11"'
        f' text-anchor="middle" fill="{MUTED}">{esc(title)}</text></g>'
    )
    return "".join(parts)


def line_chart(
    key: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Format = compact,
    y_title: str = "",
    x_title: str = "",
) -> str:
    """One line per series over the periods, with a dot on every value; gaps where None."""
    found = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(max(found, default=0.0))
    top = ticks[-1]
    count = len(labels)
    parts = [_open(key, title), _y_axis(ticks, fmt, y_title), _x_axis(labels, x_title)]
    for line in series:
        path, dots, pen_down = [], [], False
        for index, value in enumerate(line.values):
            if value is None:
                pen_down = False
                continue
            x, y = _x(index, count), _y(value, top)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
            dots.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="#fff" stroke="{line.colour}"'
                f' stroke-width="2"><title>{esc(labels[index])} · {esc(line.name)}:'
                f" {esc(fmt(value))}</title></circle>"
            )
        parts.append(
            f'<g class="series" data-series="{esc(line.name)}">'
            f'<path d="{" ".join(path)}" fill="none" stroke="{line.colour}" stroke-width="2.4"'
            f' stroke-linejoin="round" stroke-linecap="round"/>{"".join(dots)}</g>'
        )
    parts.append(_legend([(s.name, s.colour) for s in series]))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    key: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    colour: str,
    name: str,
    fmt: Format = compact,
    exact: Format | None = None,
    y_title: str = "",
    x_title: str = "",
) -> str:
    """One bar per period; `fmt` writes the axis, `exact` (or `fmt`) each bar's value."""
    ticks = nice_ticks(max(values, default=0.0))
    top = ticks[-1]
    count = len(labels)
    width = min(MAX_BAR, PLOT_W / count * 0.72)
    parts = [_open(key, title), _y_axis(ticks, fmt, y_title), _x_axis(labels, x_title)]
    parts.append(f'<g class="series" data-series="{esc(name)}">')
    for index, value in enumerate(values):
        y = _y(value, top)
        parts.append(
            f'<rect class="bar" x="{_x(index, count) - width / 2:.1f}" y="{y:.1f}"'
            f' width="{width:.1f}" height="{TOP + PLOT_H - y:.1f}" rx="2" fill="{colour}">'
            f"<title>{esc(labels[index])}: {esc((exact or fmt)(value))}</title></rect>"
        )
    parts.append("</g>")
    parts.append(_legend([(name, colour)], swatch="box"))
    parts.append("</svg>")
    return "".join(parts)


def share_chart(
    key: str,
    title: str,
    labels: Sequence[str],
    bands: Sequence[Series],
    *,
    x_title: str = "",
) -> str:
    """A 100 % stacked column per period: each band's share of the period's total."""
    count = len(labels)
    width = min(MAX_BAR, PLOT_W / count * 0.72)
    totals = [sum(band.values[i] or 0 for band in bands) for i in range(count)]
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    parts = [_open(key, title), _y_axis(ticks, percent, "share"), _x_axis(labels, x_title)]
    below = [0.0] * count
    for band in bands:
        parts.append(f'<g class="band" data-series="{esc(band.name)}">')
        for index, value in enumerate(band.values):
            if not value or not totals[index]:
                continue
            share = value / totals[index]
            y_top = _y(below[index] + share, 1.0)
            height = PLOT_H * share
            below[index] += share
            parts.append(
                f'<rect class="segment" x="{_x(index, count) - width / 2:.1f}" y="{y_top:.1f}"'
                f' width="{width:.1f}" height="{height:.1f}" fill="{band.colour}">'
                f"<title>{esc(labels[index])} · {esc(band.name)}: {esc(compact(value))}"
                f" ({esc(percent(share))})</title></rect>"
            )
        parts.append("</g>")
    parts.append(_legend([(b.name, b.colour) for b in bands], swatch="box"))
    parts.append("</svg>")
    return "".join(parts)


HEAT_LOW = (238, 242, 255)
HEAT_HIGH = (49, 46, 129)
ROW_H = 28
HEAT_LEFT = 170


def heat_colour(value: float) -> str:
    """From pale (0) to deep indigo (1)."""
    share = min(1.0, max(0.0, value)) ** 0.75
    rgb = (round(lo + (hi - lo) * share) for lo, hi in zip(HEAT_LOW, HEAT_HIGH, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heatmap(
    key: str,
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
) -> str:
    """A coloured cell per row and column, its value written in it; None drawn as a dash."""
    top = 34
    height = top + ROW_H * len(rows) + 40
    cell_w = (WIDTH - HEAT_LEFT - RIGHT) / len(columns)
    parts = [_open(key, title, height), '<g class="axis">']
    parts.append(
        f'<text x="{HEAT_LEFT - 10}" y="{top - 10}" font-size="11" text-anchor="end"'
        f' fill="{MUTED}">cohort · new users</text>'
    )
    for col, name in enumerate(columns):
        parts.append(
            f'<text x="{HEAT_LEFT + cell_w * (col + 0.5):.1f}" y="{top - 10}" font-size="12"'
            f' font-weight="600" text-anchor="middle" fill="{INK}">{esc(name)}</text>'
        )
    for row, name in enumerate(rows):
        parts.append(
            f'<text x="{HEAT_LEFT - 10}" y="{top + ROW_H * row + ROW_H / 2 + 4:.1f}"'
            f' font-size="12" text-anchor="end" fill="{INK}">{esc(name)}</text>'
        )
    parts.append("</g>")
    for row, line in enumerate(values):
        for col, value in enumerate(line):
            x, y = HEAT_LEFT + cell_w * col + 1, top + ROW_H * row + 1
            label = "–" if value is None else percent(value)
            fill = "#f3f4f6" if value is None else heat_colour(value)
            ink = "#ffffff" if value is not None and value >= 0.4 else INK
            note = "not observable yet" if value is None else percent(value)
            parts.append(
                f'<g class="cell-group"><rect class="cell{" empty" if value is None else ""}"'
                f' x="{x:.1f}" y="{y}" width="{cell_w - 2:.1f}" height="{ROW_H - 2}" rx="3"'
                f' fill="{fill}"><title>{esc(rows[row])} · {esc(columns[col])}: {esc(note)}'
                f'</title></rect><text x="{x + cell_w / 2 - 1:.1f}" y="{y + ROW_H / 2 + 3:.1f}"'
                f' font-size="12" text-anchor="middle" fill="{ink}">{esc(label)}</text></g>'
            )
    scale_y = top + ROW_H * len(rows) + 14
    parts.append(
        '<g class="legend"><defs><linearGradient id="heat-scale">'
        f'<stop offset="0" stop-color="{heat_colour(0)}"/>'
        f'<stop offset="1" stop-color="{heat_colour(1)}"/></linearGradient></defs>'
        f'<text x="{HEAT_LEFT - 10}" y="{scale_y + 10}" font-size="11" text-anchor="end"'
        f' fill="{MUTED}">retained</text>'
        f'<text x="{HEAT_LEFT}" y="{scale_y + 10}" font-size="11" fill="{MUTED}">0%</text>'
        f'<rect x="{HEAT_LEFT + 24}" y="{scale_y}" width="160" height="12" rx="2"'
        ' fill="url(#heat-scale)"/>'
        f'<text x="{HEAT_LEFT + 190}" y="{scale_y + 10}" font-size="11" fill="{MUTED}">100%</text>'
        f'<rect x="{HEAT_LEFT + 240}" y="{scale_y}" width="12" height="12" rx="2"'
        ' fill="#f3f4f6" stroke="#d1d5db"/>'
        f'<text x="{HEAT_LEFT + 258}" y="{scale_y + 10}" font-size="11" fill="{MUTED}">'
        "– not observable yet</text></g></svg>"
    )
    return "".join(parts)


def level_bar(start: int, end: int, most: int) -> str:
    """A small track of levels 1..most: the level now filled, where it began marked."""
    width, height = 120, 14
    unit = width / most
    colour = "#059669" if end > start else "#dc2626" if end < start else "#6366f1"
    return (
        f'<svg class="level-bar" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>level {start} → {end} of {most}</title>"
        f'<rect x="0" y="3" width="{width}" height="8" rx="4" fill="{GRID}"/>'
        f'<rect class="level" x="0" y="3" width="{unit * end:.1f}" height="8" rx="4"'
        f' fill="{colour}"/>'
        f'<line x1="{unit * start:.1f}" y1="0" x2="{unit * start:.1f}" y2="{height}"'
        f' stroke="{INK}" stroke-width="1.5"/></svg>'
    )
