"""`GET /api/v1/characters/{id}/days`: the events of a character's own days, for its user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.app.daily_life import live_day
from companion.domain.daily_life import draw
from tests.support.api import api_settings, new_character, sign_up
from tests.support.clock import Clock

SEED = "companion"
OCCUPATION = "illustrator"  # the persona new_character creates
NOW = datetime.now(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def companion(tmp_path: Path, clock: Clock) -> Iterator[Companion]:
    # The days are lived by the test alone: no scheduler of the app's own.
    companion = bootstrap(
        api_settings(tmp_path, daily_life_seed=SEED, daily_life=False), clock=clock
    )
    yield companion
    companion.close()


@pytest.fixture
def client(companion: Companion) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(companion)) as client:
        yield client


@pytest.fixture
def user(client: TestClient[Any]) -> dict[str, str]:
    return sign_up(client)


@pytest.fixture
def character(client: TestClient[Any], user: dict[str, str]) -> str:
    return new_character(client, user)


def live_days(companion: Companion, clock: Clock, character: str, count: int) -> list[date]:
    """The character's next `count` days with an event, lived; the clock ends on the last."""
    lived: list[date] = []
    day = NOW.date()
    while len(lived) < count:
        if draw(UUID(character), day, SEED, occupation=OCCUPATION) is not None:
            clock.now = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
            assert live_day(companion.uow, character_id=UUID(character), now=clock.now, seed=SEED)
            lived.append(day)
        day += timedelta(days=1)
    return lived


def days(client: TestClient[Any], user: dict[str, str], character: str, **query: Any) -> Any:
    answer = client.get(f"/api/v1/characters/{character}/days", headers=user, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_character_s_days_are_listed_newest_first(
    client: TestClient[Any],
    companion: Companion,
    clock: Clock,
    user: dict[str, str],
    character: str,
) -> None:
    lived = live_days(companion, clock, character, 3)

    found = days(client, user, character)

    assert [d["day"] for d in found["days"]] == [d.isoformat() for d in reversed(lived)]
    assert found["next_before"] is None
    newest = found["days"][0]
    template = draw(UUID(character), lived[-1], SEED, occupation=OCCUPATION)
    assert template is not None
    assert (newest["key"], newest["title"], newest["mood_impact"]) == (
        template.key,
        template.title,
        template.mood_impact,
    )
    assert newest["shared_in"] is None


def test_days_are_paged_like_the_other_lists(
    client: TestClient[Any],
    companion: Companion,
    clock: Clock,
    user: dict[str, str],
    character: str,
) -> None:
    lived = live_days(companion, clock, character, 5)

    pages, before = [], None
    while True:
        query: dict[str, Any] = {"limit": 2} if before is None else {"limit": 2, "before": before}
        page = days(client, user, character, **query)
        pages.append([d["day"] for d in page["days"]])
        before = page["next_before"]
        if before is None:
            break

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [day for page in pages for day in page] == [d.isoformat() for d in reversed(lived)]


def test_a_range_of_dates_keeps_the_days_within_it(
    client: TestClient[Any],
    companion: Companion,
    clock: Clock,
    user: dict[str, str],
    character: str,
) -> None:
    lived = live_days(companion, clock, character, 4)

    found = days(
        client, user, character, **{"from": lived[1].isoformat(), "to": lived[2].isoformat()}
    )

    assert [d["day"] for d in found["days"]] == [lived[2].isoformat(), lived[1].isoformat()]


def test_a_day_told_in_a_reply_says_which_reply(
    client: TestClient[Any],
    companion: Companion,
    clock: Clock,
    user: dict[str, str],
    character: str,
) -> None:
    (lived,) = live_days(companion, clock, character, 1)
    turn = client.post(
        f"/api/v1/characters/{character}/messages",
        headers=user,
        json={"text": "How was your day? Tell me everything!"},
    )
    assert turn.status_code == 200, turn.text

    (day,) = days(client, user, character)["days"]

    assert day["day"] == lived.isoformat()
    assert day["shared_in"] == turn.json()["reply"]["message_id"]


def test_another_user_s_character_has_no_days_to_show(
    client: TestClient[Any],
    companion: Companion,
    clock: Clock,
    character: str,
) -> None:
    live_days(companion, clock, character, 1)
    stranger = sign_up(client)

    answer = client.get(f"/api/v1/characters/{character}/days", headers=stranger)

    assert answer.status_code == 404
    assert answer.json()["extra"]["code"] == "character_not_found"
