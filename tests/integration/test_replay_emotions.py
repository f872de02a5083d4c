"""`companion replay emotions`: the stored moods' inputs through another emotion engine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from companion.app.bootstrap import bootstrap
from companion.app.daily_life import live_day
from companion.domain.characters import Character, Persona
from companion.domain.daily_life import draw
from companion.domain.emotion import Cycle
from companion.domain.identity import emotion_state_id
from tests.support.cli import cli, ok
from tests.support.clock import Clock
from tests.support.personas import HANA, PERSONA_INPUT
from tests.support.settings import cheap_settings
from tests.support.users import PASSWORD

pytestmark = pytest.mark.usefixtures("cli_environment")
SEED = "companion"
START = datetime(2026, 4, 1, 8, tzinfo=UTC)
TALK = (
    "I love you so much, thank you for everything!",
    "I'm so sad and lonely today...",
    "You are annoying, stop it",
    "Guess what, I got the job!!! I'm so excited",
    "ok",
)


@dataclass(frozen=True)
class Story:
    url: str
    mei: UUID
    haruto: UUID
    hana: UUID
    mood_changes: dict[UUID, int]
    events: int


def event_day(character: UUID, occupation: str, after: date) -> date:
    day = after
    while draw(character, day, SEED, occupation=occupation) is None:
        day += timedelta(days=1)
    return day


def tell(url: str, tmp_path: Path) -> Story:
    """Two users talk to their characters over weeks; one character's days happen, its persona
    changes and it opts in to a cycle; nights and silences pass."""
    clock = Clock(START)
    companion = bootstrap(cheap_settings(database_url=url, data_dir=tmp_path), clock=clock)
    try:
        mei = companion.accounts.register(
            email="mei@example.com",
            password=PASSWORD,
            name="Mei",
            nickname="Mei",
            timezone="Asia/Tokyo",
        )
        ren = companion.accounts.register(
            email="ren@example.com", password=PASSWORD, name="Ren", nickname="Ren"
        )
        haruto, _ = companion.characters.create_character(
            user_id=mei, persona=Persona.parse(**PERSONA_INPUT)
        )
        hana, _ = companion.characters.create_character(user_id=ren, persona=Persona.parse(**HANA))
        for round_ in range(3):
            for text in TALK:
                companion.chat.send_message(user_id=mei, character_id=haruto, text=text)
                companion.chat.send_message(user_id=ren, character_id=hana, text=text)
                clock.advance(hours=7)
            day = event_day(haruto, "barista", clock.now.date())
            clock.now = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
            assert live_day(companion.uow, character_id=haruto, now=clock.now, seed=SEED).lived
            clock.advance(days=2)
            if round_ == 0:
                companion.feelings.set_cycle(
                    user_id=mei, character_id=haruto, cycle=Cycle(START.date(), 28)
                )
            if round_ == 1:
                character = companion.uow.load(Character, haruto)
                serious = {**PERSONA_INPUT["personality"], "seriousness": 1.0, "kindness": 0.1}
                character.update_persona(Persona.parse(**{**PERSONA_INPUT, "personality": serious}))
                companion.uow.save(character)
        changes = {
            character: sum(
                type(e).__name__ == "MoodChanged"
                for e in companion.uow.stream(emotion_state_id(user, character))
            )
            for user, character in ((mei, haruto), (ren, hana))
        }
        events = companion.application.recorder.max_notification_id() or 0
    finally:
        companion.close()
    return Story(url, mei, haruto, hana, changes, events)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def story(request: pytest.FixtureRequest, tmp_path: Path) -> Story:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/c.db"
    else:
        url = request.getfixturevalue("postgres_url")
    return tell(url, tmp_path)


def replayed(story: Story, *args: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        ok(story.url, "replay", "emotions", *args, "--format", "json").stdout
    )
    return found


def by_character(found: dict[str, Any]) -> dict[UUID, dict[str, Any]]:
    return {UUID(c["character_id"]): c for c in found["characters"]}


def test_the_current_engine_replays_every_stored_mood_exactly(story: Story) -> None:
    found = by_character(replayed(story, "--engine", "v1"))

    assert set(found) == {story.haruto, story.hana}
    for character, replay in found.items():
        assert replay["changes"] == story.mood_changes[character] > 10
        assert replay["max_abs_difference"] == 0
        assert replay["expression_changes"] == 0
        assert replay["stored_final"] == replay["replayed_final"]


def test_a_gentler_engine_lands_elsewhere_and_says_how_far(story: Story) -> None:
    found = by_character(replayed(story, "--engine", "v1-gentle"))

    for replay in found.values():
        assert replay["max_abs_difference"] > 0
        assert 0 < replay["mean_abs_difference"] <= replay["max_abs_difference"]


def test_a_slower_decay_changes_the_moods_after_the_silences(story: Story) -> None:
    found = by_character(replayed(story, "--engine", "v1-slow-decay"))

    assert found[story.haruto]["max_abs_difference"] > 0


def test_one_user_or_one_character_is_replayed_alone(story: Story) -> None:
    assert set(by_character(replayed(story, "--engine", "v1", "--user", "ren@example.com"))) == {
        story.hana
    }
    assert set(
        by_character(replayed(story, "--engine", "v1", "--character", str(story.haruto)))
    ) == {story.haruto}


def test_a_replay_from_a_moment_replays_only_the_changes_after_it(story: Story) -> None:
    since = (START + timedelta(days=5)).isoformat()
    found = by_character(replayed(story, "--engine", "v1", "--since", since))

    assert 0 < found[story.hana]["changes"] < story.mood_changes[story.hana]
    assert found[story.hana]["max_abs_difference"] == 0


def test_replaying_writes_nothing(story: Story, tmp_path: Path) -> None:
    for engine in ("v1", "v1-gentle", "v1-slow-decay"):
        replayed(story, "--engine", engine)

    companion = bootstrap(cheap_settings(database_url=story.url, data_dir=tmp_path))
    try:
        assert companion.application.recorder.max_notification_id() == story.events
    finally:
        companion.close()


def test_the_engines_are_listed_and_an_unknown_one_is_refused(sqlite_url: str) -> None:
    listed = ok(sqlite_url, "replay", "emotions", "--list").stdout
    for version in ("v1", "v1-gentle", "v1-slow-decay"):
        assert version in listed

    refused = cli(sqlite_url, "replay", "emotions", "--engine", "v9")
    assert refused.exit_code == 2
    assert "v1-gentle" in refused.output
