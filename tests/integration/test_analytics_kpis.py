"""The analytics read model answers the KPIs the exported events give, and equals a rebuild.

A synthetic population (tests/integration/test_demo_seed.py shows it is
reproducible) is seeded once; each KPI is computed again in plain Python from
the export of its log (tests/support/kpi_reference.py) and compared with what
`compute_kpis` and `user_insights` read from the read model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from companion.app.analytics.shaping import plain
from companion.app.bootstrap import Companion, bootstrap
from companion.app.demo.clock import SimulatedClock
from companion.app.demo.seeding import seed_population
from projections.analytics_insights import user_insights
from projections.analytics_kpis import compute_kpis, periods_of
from tests.support.cli import ok
from tests.support.companions import TEST_SETTINGS, Companions
from tests.support.kpi_reference import History, characters, exported_records, insight, period
from tests.support.settings import cheap_settings

START = date(2026, 3, 2)
USERS, DAYS, SEED = 30, 20, 11
LAST = START + timedelta(days=DAYS - 1)


def seeded(settings: Any, users: int = USERS, days: int = DAYS) -> Companion:
    clock = SimulatedClock(datetime.combine(START, datetime.min.time(), UTC))
    companion = bootstrap(settings, clock=clock)
    seed_population(companion, clock, users=users, days=days, seed=SEED, start=START)
    return companion


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Companion, History]]:
    """The population on an in-memory store, with its log as exported."""
    data_dir = tmp_path_factory.mktemp("population")
    settings = cheap_settings(
        _env_file=None, **{**TEST_SETTINGS, "data_dir": data_dir, "database_url": "memory://"}
    )
    with closing(seeded(settings)) as companion:
        companion.runner.run_once()
        yield companion, History.of(exported_records(companion))


def expected_report(history: History, start: date, end: date, by: str) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "by": by,
        "periods": [period(history, a, b, end) for a, b in periods_of(start, end, by)],  # type: ignore[arg-type]
        "total": period(history, start, end, end),
        "characters": characters(history, start, end),
    }


@pytest.mark.parametrize(
    ("start", "end", "by"),
    [
        (START, LAST, "week"),
        (START + timedelta(days=6), LAST - timedelta(days=2), "day"),
        (START - timedelta(days=3), LAST + timedelta(days=40), "month"),
    ],
)
def test_every_kpi_is_what_the_exported_events_say(
    population: tuple[Companion, History], start: date, end: date, by: str
) -> None:
    companion, history = population
    model = companion.read_models.analytics

    report = compute_kpis(companion.views, model, start=start, end=end, by=by)  # type: ignore[arg-type]

    expected = expected_report(history, start, end, by)
    got = plain(report)
    for index, (mine, theirs) in enumerate(zip(got["periods"], expected["periods"], strict=True)):
        assert mine == theirs, f"period {index}"
    assert got["total"] == expected["total"]
    assert got["characters"] == expected["characters"]
    assert got == expected


def test_the_population_gives_every_kpi_something_to_count(
    population: tuple[Companion, History],
) -> None:
    companion, _ = population
    model = companion.read_models.analytics
    total = compute_kpis(companion.views, model, start=START, end=LAST + timedelta(days=30)).total

    counted = plain(total)
    assert [
        name
        for name in (
            "new_users",
            "sessions",
            "messages",
            "revenue_yen",
            "payers",
            "gems_bought",
            "gems_bonus",
            "gems_spent",
            "subscriptions_started",
            "renewals",
            "replies",
            "mood_changes",
            "level_ups",
            "level_downs",
        )
        if not counted[name]
    ] == []
    assert total.churn is None or 0 <= total.churn <= 1
    assert {total.retention["day1"], total.retention["day7"]} != {None}
    assert 0 < total.conversion < 1  # type: ignore[operator]
    assert sum(total.mood_bands.values()) == total.mood_changes


def test_each_users_insights_follow_their_formulas(
    population: tuple[Companion, History],
) -> None:
    companion, history = population
    at = LAST - timedelta(days=1)

    found = [
        plain(i) for i in user_insights(companion.views, companion.read_models.analytics, at=at)
    ]

    expected = sorted(
        (insight(history, user, at) for user, day in history.signed_up.items() if day <= at),
        key=lambda i: (i["signed_up"], i["user_id"]),
    )
    assert found == expected
    assert {i["risk"] for i in found} >= {"low", "high"}


@pytest.mark.usefixtures("cli_environment")
def test_the_kpis_and_insights_commands_print_the_report(
    sqlite_companions: Companions, sqlite_url: str
) -> None:
    url = sqlite_url
    with closing(
        seeded(sqlite_companions.settings(database_url=url), users=8, days=6)
    ) as companion:
        history = History.of(exported_records(companion))
    last = START + timedelta(days=13)

    printed = ok(
        url,
        "analytics",
        "kpis",
        "--from",
        START.isoformat(),
        "--to",
        last.isoformat(),
        "--by",
        "week",
        "--format",
        "json",
    )
    table = ok(url, "analytics", "kpis", "--from", START.isoformat(), "--to", last.isoformat())
    rows = ok(
        url,
        "analytics",
        "kpis",
        "--from",
        START.isoformat(),
        "--to",
        last.isoformat(),
        "--format",
        "csv",
    ).stdout.splitlines()

    at = START + timedelta(days=4)
    insights = ok(url, "analytics", "insights", "--at", at.isoformat(), "--format", "json")

    assert json.loads(printed.stdout) == expected_report(history, START, last, "week")
    assert json.loads(insights.stdout) == sorted(
        (insight(history, user, at) for user, day in history.signed_up.items() if day <= at),
        key=lambda i: (i["signed_up"], i["user_id"]),
    )
    assert "stickiness" in table.stdout
    assert rows[0].startswith("period,start,end,new_users,active_users,dau,wau,mau,")
    assert [row.split(",")[0] for row in rows[1:]] == [
        *(str(START + timedelta(days=n)) for n in range(14)),
        "total",
    ]


def test_a_rebuilt_analytics_model_equals_the_live_one_on_sqlite(
    sqlite_companions: Companions,
) -> None:
    rebuilt_equals_live(sqlite_companions)


@pytest.mark.postgres
def test_a_rebuilt_analytics_model_equals_the_live_one_on_postgres(
    postgres_companions: Companions,
) -> None:
    rebuilt_equals_live(postgres_companions)


def rebuilt_equals_live(companions: Companions) -> None:
    """Built live in batches of seven events, then rebuilt from the log in one go."""
    settings = companions.settings(projection_batch_size=7)
    with closing(seeded(settings, users=10, days=8)) as companion:
        model = companion.read_models.analytics
        companion.runner.run_once()
        live = model.dump(companion.views)
        assert any(live.values())

        companion.runner.rebuild(model, batch_size=1000)

        assert model.dump(companion.views) == live


def test_a_forgotten_users_characters_lose_their_names_not_their_figures(
    memory_companions: Companions,
) -> None:
    with closing(seeded(memory_companions.settings(), users=3, days=2)) as companion:
        model = companion.read_models.analytics
        companion.runner.run_once()
        before = compute_kpis(companion.views, model, start=START, end=START + timedelta(days=1))
        gone = before.characters[0].user_id

        companion.accounts.forget_user(user_id=gone)
        companion.runner.run_once()
        after = compute_kpis(companion.views, model, start=START, end=START + timedelta(days=1))

    assert [c.name for c in after.characters if c.user_id == gone] == [""]
    assert all(c.name for c in after.characters if c.user_id != gone)
    assert after.total == before.total
