"""The mood over HTTP: a turn answers it, /emotion explains it, /avatar shows it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.expression import EXPRESSIONS, PARAMETERS
from tests.support.api import api_settings, new_character, sign_up
from tests.support.clock import Clock

KIND = "Thank you so much, you are wonderful and I love talking with you!"
START = datetime(2026, 5, 12, 3, tzinfo=UTC)  # noon in Tokyo, the middle of the day in UTC


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def companion(tmp_path: Path, clock: Clock) -> Iterator[Companion]:
    companion = bootstrap(api_settings(tmp_path, daily_life=False))
    companion.uow.clock = clock
    yield companion
    companion.close()


@pytest.fixture
def client(companion: Companion) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(companion)) as client:
        yield client


def say(client: TestClient[Any], user: dict[str, str], character: str, text: str) -> Any:
    answer = client.post(
        f"/api/v1/characters/{character}/messages", headers=user, json={"text": text}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def emotion(client: TestClient[Any], user: dict[str, str], character: str, **query: str) -> Any:
    answer = client.get(f"/api/v1/characters/{character}/emotion", headers=user, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_new_character_rests_at_its_baseline(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    state = emotion(client, user, character)
    assert state["mood"] == state["baseline"]
    assert state["factors"] == []
    assert state["cause"] is None
    assert state["expression"] in EXPRESSIONS
    assert set(state["parameters"]) == set(PARAMETERS)


def test_three_kind_messages_lift_the_mood_and_the_avatar_smiles(
    client: TestClient[Any], user: dict[str, str], character: str, clock: Clock
) -> None:
    before = emotion(client, user, character)["mood"]
    moods = []
    for _ in range(3):
        clock.advance(minutes=2)
        turn = say(client, user, character, KIND)
        moods.append(turn["mood"])
        assert turn["expression"] in EXPRESSIONS
    assert before < moods[0] < moods[1] < moods[2]

    state = emotion(client, user, character)
    assert state["mood"] == moods[-1]
    assert state["cause"] == "message"
    assert {f["type"] for f in state["factors"]} >= {"interaction", "time"}
    assert all(f["description"] for f in state["factors"])
    assert state["expression"] in ("happy", "joyful", "loving")
    avatar = client.get(f"/api/v1/characters/{character}/avatar", headers=user).json()
    assert avatar["expression"] == state["expression"]
    assert avatar["parameters"]["mouth_form"] > 0.3
    assert (avatar["transition_ms"], avatar["easing"]) == (1000, "ease-in-out")
    assert avatar["equipped"] == {}


def test_hurtful_messages_in_japanese_lower_the_mood(
    client: TestClient[Any], user: dict[str, str], character: str, clock: Clock
) -> None:
    before = emotion(client, user, character)["mood"]
    for _ in range(2):
        clock.advance(minutes=1)
        turn = say(client, user, character, "お前なんか大嫌い。最低だ、うざい。")
    assert turn["mood"] < before - 10
    avatar = client.get(f"/api/v1/characters/{character}/avatar", headers=user).json()
    assert avatar["parameters"]["mouth_form"] < 0.3


def test_a_week_of_silence_brings_the_mood_back_towards_baseline(
    client: TestClient[Any], user: dict[str, str], character: str, clock: Clock
) -> None:
    base = emotion(client, user, character)["baseline"]
    for _ in range(3):
        clock.advance(minutes=1)
        lifted = say(client, user, character, KIND)["mood"]
    clock.advance(days=7)
    back = say(client, user, character, "ok")["mood"]
    assert abs(back - base) < abs(lifted - base) / 4
    factors = emotion(client, user, character)["factors"]
    (decay,) = [f for f in factors if f["type"] == "decay"]
    assert decay["influence"] < 0
    assert "7 days" in decay["description"]


def test_the_state_at_a_past_moment_and_the_mood_chart(
    client: TestClient[Any], user: dict[str, str], character: str, clock: Clock
) -> None:
    base = emotion(client, user, character)["baseline"]
    moments, moods = [], []
    for _ in range(3):
        moments.append(clock.advance(hours=1))
        moods.append(say(client, user, character, KIND)["mood"])

    between = (moments[1] + timedelta(minutes=30)).isoformat()
    assert emotion(client, user, character, at=between)["mood"] == moods[1]
    earlier = emotion(client, user, character, at=(START - timedelta(days=1)).isoformat())
    assert (earlier["mood"], earlier["factors"]) == (base, [])
    in_tokyo = moments[0].astimezone(UTC).replace(tzinfo=None).isoformat()  # no zone: UTC
    assert emotion(client, user, character, at=in_tokyo)["mood"] == moods[0]

    chart = client.get(f"/api/v1/characters/{character}/emotion/history", headers=user).json()
    assert [p["mood"] for p in chart["points"]] == moods
    assert all(p["expression"] in EXPRESSIONS for p in chart["points"])
    window = client.get(
        f"/api/v1/characters/{character}/emotion/history",
        headers=user,
        params={"from": moments[1].isoformat(), "to": moments[2].isoformat()},
    ).json()
    assert [p["mood"] for p in window["points"]] == moods[1:]
    latest = client.get(
        f"/api/v1/characters/{character}/emotion/history", headers=user, params={"limit": 1}
    ).json()
    assert [p["mood"] for p in latest["points"]] == moods[-1:]


def test_another_users_character_has_no_mood_to_show(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    stranger = sign_up(client)
    for path in ("emotion", "emotion/history", "avatar"):
        answer = client.get(f"/api/v1/characters/{character}/{path}", headers=stranger)
        assert answer.status_code == 404, path
        assert answer.json()["extra"]["code"] == "character_not_found"
        unknown = client.get(f"/api/v1/characters/{uuid4()}/{path}", headers=user)
        assert unknown.status_code == 404
        assert client.get(f"/api/v1/characters/{character}/{path}").status_code == 401


def test_bad_moments_are_422(client: TestClient[Any], user: dict[str, str], character: str) -> None:
    for path, query in (
        ("emotion", {"at": "yesterday"}),
        ("emotion/history", {"from": "soon"}),
        ("emotion/history", {"limit": "0"}),
        ("emotion/history", {"limit": "100000"}),
    ):
        answer = client.get(f"/api/v1/characters/{character}/{path}", headers=user, params=query)
        assert answer.status_code in (400, 422), (path, query, answer.text)
        assert "code" in answer.json()["extra"]


def test_a_turn_answers_the_mood_it_left(
    client: TestClient[Any], companion: Companion, user: dict[str, str]
) -> None:
    character = new_character(client, user)
    turn = say(client, user, character, KIND)
    state = companion.feelings.emotion_state(
        UUID(client.get("/api/v1/me", headers=user).json()["user_id"]), UUID(character)
    )
    assert state is not None
    assert (turn["mood"], turn["expression"]) == (state.mood, state.expression.name)


def test_moments_at_the_edges_of_the_calendar_are_answered(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    say(client, user, character, KIND)
    for moment in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00"):
        assert emotion(client, user, character, at=moment)["mood"] in range(-100, 101)
        chart = client.get(
            f"/api/v1/characters/{character}/emotion/history",
            headers=user,
            params={"from": moment, "to": moment},
        )
        assert chart.status_code == 200, chart.text


def test_the_embedded_server_lives_the_characters_days(tmp_path: Path) -> None:
    companion = bootstrap(api_settings(tmp_path, daily_life=True))
    assert companion.daily_life is not None
    with TestClient(create_app(companion)):
        assert companion.daily_life.running
    assert not companion.daily_life.running
    quiet = bootstrap(api_settings(tmp_path / "quiet", daily_life=False))
    assert quiet.daily_life is not None
    with TestClient(create_app(quiet)):
        assert not quiet.daily_life.running


def test_a_character_opts_in_to_a_cycle_and_out(
    client: TestClient[Any], user: dict[str, str], character: str, clock: Clock
) -> None:
    path = f"/api/v1/characters/{character}/emotion/cycle"
    body = {"start": "2026-05-01", "length_days": 30}
    answer = client.put(path, headers=user, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == body
    clock.advance(minutes=1)
    say(client, user, character, KIND)
    assert "cycle" in {f["type"] for f in emotion(client, user, character)["factors"]}

    assert client.delete(path, headers=user).status_code == 204
    clock.advance(minutes=1)
    say(client, user, character, KIND)
    assert "cycle" not in {f["type"] for f in emotion(client, user, character)["factors"]}

    for bad in ({"start": "2026-05-01", "length_days": 3}, {"start": "May"}, {}):
        assert client.put(path, headers=user, json=bad).status_code == 422, bad
    stranger = sign_up(client)
    assert client.put(path, headers=stranger, json=body).status_code == 404
    assert client.delete(path, headers=stranger).status_code == 404
