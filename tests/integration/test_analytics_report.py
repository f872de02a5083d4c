"""`companion analytics report` writes one HTML page whose charts chromium draws from the KPIs.

A synthetic population is seeded once on SQLite; each test writes a report
through the command line, opens the file in Debian's chromium (the `browser`
fixture of tests/support/browser.py) and counts what each chart drew against
what `compute_kpis` says. The full report is saved to var/analytics-report.png.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from companion.app.analytics.report import CHARACTER_ROWS, axis_label, render_report
from companion.app.bootstrap import bootstrap
from companion.app.demo.clock import SimulatedClock
from companion.app.demo.seeding import seed_population
from projections.analytics_kpis import KpiReport, compute_kpis
from tests.support.browser import browser  # noqa: F401  (the session's chromium)
from tests.support.cli import ok
from tests.support.companions import TEST_SETTINGS
from tests.support.settings import cheap_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = date(2026, 3, 2)
USERS, DAYS, SEED = 30, 20, 11
WEEKS_END = START + timedelta(days=34)
"""Five whole weeks: three with the population's days, two after it."""
SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "analytics-report.png"
NETWORK = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
HOSTILE = '<img src=x onerror="alert(1)"><script>alert("name")</script> & "Yui"'


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a SQLite store holding the seeded population."""
    data_dir = tmp_path_factory.mktemp("report-population")
    url = f"sqlite:///{data_dir}/events.db"
    settings = cheap_settings(
        _env_file=None, **{**TEST_SETTINGS, "data_dir": data_dir, "database_url": url}
    )
    clock = SimulatedClock(datetime.combine(START, datetime.min.time(), UTC))
    with closing(bootstrap(settings, clock=clock)) as companion:
        seed_population(companion, clock, users=USERS, days=DAYS, seed=SEED, start=START)
    return url


def kpis(url: str, start: date, end: date, by: str) -> KpiReport:
    """What the report should show, read through the KPI API."""
    settings = cheap_settings(_env_file=None, **{**TEST_SETTINGS, "database_url": url})
    with closing(bootstrap(settings, create_store=False)) as companion:
        model = companion.read_models.analytics
        companion.runner.catch_up(model)
        return compute_kpis(companion.views, model, start=start, end=end, by=by)  # type: ignore[arg-type]


def written(url: str, out: Path, start: date, end: date, by: str) -> Path:
    args = ["--from", start.isoformat(), "--to", end.isoformat(), "--by", by, "--out", str(out)]
    ok(url, "analytics", "report", *args)
    return out


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811
    """A page that may load nothing but files: any other request is recorded and refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    refused: list[str] = []

    def guard(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    yield page
    context.close()
    assert refused == []


def chart_size(page: Page, key: str) -> tuple[float, float]:
    box = page.locator(f'svg.chart[data-chart="{key}"]').bounding_box()
    assert box is not None, key
    return box["width"], box["height"]


def titles(page: Page, selector: str) -> list[str]:
    return page.locator(f"{selector} > title").all_text_contents()


@pytest.mark.usefixtures("cli_environment")
def test_every_chart_draws_what_the_kpis_say_and_nothing_is_fetched(
    store: str, page: Page, tmp_path: Path
) -> None:
    out = written(store, tmp_path / "report.html", START, WEEKS_END, "week")
    expected = kpis(store, START, WEEKS_END, "week")
    html = out.read_text(encoding="utf-8")

    page.goto(out.as_uri())
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert NETWORK.findall(html) == []
    assert "<script" not in html
    periods = len(expected.periods)
    cohorts = [p for p in expected.periods if p.new_users]
    assert periods == 5
    assert len(cohorts) == 3
    for key in ("activity", "retention", "revenue", "latency", "mood"):
        width, height = chart_size(page, key)
        assert width > 300, key
        assert height > 100, key
        assert page.locator(f'svg[data-chart="{key}"] .legend').count() == 1, key
    assert page.locator('svg[data-chart="activity"] .series').count() == 3
    assert page.locator('svg[data-chart="activity"] .series circle').count() == 3 * periods
    assert titles(page, 'svg[data-chart="revenue"] rect.bar') == [
        f"{axis_label(p.start, 'week')}: ¥{p.revenue_yen:,}" for p in expected.periods
    ]
    assert any(p.revenue_yen for p in expected.periods)
    assert page.locator('svg[data-chart="retention"] rect.cell').count() == 3 * len(cohorts)
    assert page.locator('svg[data-chart="retention"] rect.cell.empty').count() == sum(
        value is None for p in cohorts for value in p.retention.values()
    )
    assert page.locator('svg[data-chart="latency"] .series').count() == 3
    assert page.locator('svg[data-chart="mood"] g.band').count() == 5
    assert page.locator('svg[data-chart="mood"] rect.segment').count() == sum(
        1 for p in expected.periods for n in p.mood_bands.values() if n
    )
    assert page.locator("table.kpis tbody tr").count() == periods + 1
    assert page.locator("tr.character").count() == min(CHARACTER_ROWS, len(expected.characters))
    assert page.locator(".no-data").count() == 0
    header = page.locator("header").inner_text()
    assert f"{START.isoformat()} – {WEEKS_END.isoformat()}" in header
    assert "made " in header


@pytest.mark.usefixtures("cli_environment")
def test_a_range_with_no_events_says_so_in_every_chart(
    store: str, page: Page, tmp_path: Path
) -> None:
    before = START - timedelta(days=60)
    out = written(store, tmp_path / "empty.html", before, before + timedelta(days=13), "day")

    page.goto(out.as_uri())

    assert page.locator("svg.chart").count() == 0
    assert page.locator(".no-data").count() == 6
    assert page.locator("table.kpis tbody tr").count() == 14 + 1


@pytest.mark.usefixtures("cli_environment")
def test_one_period_draws_one_point_a_series_and_one_slim_bar(
    store: str, page: Page, tmp_path: Path
) -> None:
    month = date(2026, 3, 1)
    out = written(store, tmp_path / "month.html", month, date(2026, 3, 31), "month")

    page.goto(out.as_uri())

    for key in ("activity", "latency"):
        for series in page.locator(f'svg[data-chart="{key}"] .series').all():
            assert series.locator("circle").count() == 1, key
    bar = page.locator('svg[data-chart="revenue"] rect.bar')
    assert bar.count() == 1
    box, chart = bar.bounding_box(), chart_size(page, "revenue")
    assert box is not None
    assert 0 < box["width"] < chart[0] / 6
    assert box["height"] > 0
    assert page.locator('svg[data-chart="retention"] rect.cell').count() == 3
    assert page.locator(".no-data").count() == 0


def test_names_from_the_data_are_shown_as_text_never_as_markup(
    store: str, page: Page, tmp_path: Path
) -> None:
    report = kpis(store, START, WEEKS_END, "week")
    first = dataclasses.replace(report.characters[0], name=HOSTILE, level_end=10)
    hostile = dataclasses.replace(report, characters=[first, *report.characters[1:]])
    out = tmp_path / "hostile.html"
    out.write_text(render_report(hostile, made_at=datetime.now(UTC)), encoding="utf-8")

    page.goto(out.as_uri())

    assert page.locator("script, img").count() == 0
    cell = page.locator("tr.character td.name").first
    assert cell.inner_text() == HOSTILE
    assert cell.get_attribute("title") == HOSTILE
