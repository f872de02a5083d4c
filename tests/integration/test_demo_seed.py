"""`companion demo seed`: a synthetic population, the same for the same seed, on its own clock."""

from __future__ import annotations

import re
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from companion.app.bootstrap import bootstrap
from companion.app.demo.clock import SimulatedClock
from companion.app.demo.seeding import seed_population
from tests.support.cli import ok
from tests.support.companions import Companions
from tests.support.kpi_reference import exported_records

START = date(2026, 5, 4)
USERS, DAYS = 8, 6

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")
MEASURED = frozenset({"latency_ms", "first_token_ms"})
"""What the seeding measures rather than draws: how long the model took."""


def seeded_log(companions: Companions, seed: int) -> list[dict[str, Any]]:
    clock = SimulatedClock(datetime.combine(START, datetime.min.time(), UTC))
    with closing(bootstrap(companions.settings(), clock=clock)) as companion:
        seed_population(companion, clock, users=USERS, days=DAYS, seed=seed, start=START)
        return exported_records(companion)


def without_ids(records: list[dict[str, Any]]) -> list[Any]:
    """The records with every id (uuid or hex token) replaced by the order it first came in."""
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return numbers.setdefault(match[0], f"#{len(numbers)}")

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in MEASURED}
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, str):
            return ID.sub(number, value)
        return value

    return [strip(record) for record in records]


def test_one_seed_gives_one_log_and_another_seed_another(memory_companions: Companions) -> None:
    first = seeded_log(memory_companions, seed=3)
    again = seeded_log(memory_companions, seed=3)
    other = seeded_log(memory_companions, seed=4)

    assert len(first) > 200
    assert without_ids(again) == without_ids(first)
    assert without_ids(other) != without_ids(first)


def test_the_events_carry_the_simulations_time(memory_companions: Companions) -> None:
    records = seeded_log(memory_companions, seed=5)

    times = [datetime.fromisoformat(r["timestamp"]) for r in records]
    assert times == sorted(times)
    assert times[0] >= datetime.combine(START, datetime.min.time(), UTC)
    assert times[-1] < datetime.combine(START + timedelta(days=DAYS), datetime.min.time(), UTC)
    kinds = {r["topic"].rpartition(":")[2] for r in records}
    assert {
        "User.Registered",
        "Session.Started",
        "Session.Ended",
        "Conversation.UserMessageSent",
        "Conversation.CompanionReplied",
        "EmotionState.MoodChanged",
        "DailyLife.DailyEventOccurred",
    } <= kinds
    texts = [r["state"]["text"] for r in records if r["topic"].endswith(".UserMessageSent")]
    assert any(text.isascii() for text in texts)
    assert any(not text.isascii() for text in texts)


def test_the_events_stamps_return_to_the_wall_clock_after_seeding(
    memory_companions: Companions,
) -> None:
    clock = SimulatedClock(datetime(2020, 1, 1, tzinfo=UTC))
    with closing(bootstrap(memory_companions.settings(), clock=clock)) as companion:
        seed_population(companion, clock, users=1, days=1, seed=1, start=date(2020, 1, 1))
        companion.commerce.list_item(
            slug="after-the-seed", name="After", category="hair", rarity="common", price_gems=10
        )
        last = exported_records(companion)[-1]

    assert datetime.fromisoformat(last["timestamp"]).year > 2020


@pytest.mark.usefixtures("cli_environment")
def test_the_seed_command_seeds_a_store_with_a_progress_bar(sqlite_url: str) -> None:
    seeded = ok(sqlite_url, "demo", "seed", "--users", "3", "--days", "2", "--seed", "9")

    assert "seeded 3 users over 2 days from 2026-01-01" in seeded.stdout
    assert "seeding days" in seeded.stderr
    count = ok(sqlite_url, "events", "count", "--type", "User.Registered")
    assert count.stdout.strip() == "3"
