"""`companion analytics state`: a character as it was at a past moment, read from the log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import Result

from companion.domain.characters import Persona
from tests.support.cli import cli, open_companion
from tests.support.personas import PERSONA_INPUT
from tests.support.users import PASSWORD

pytestmark = pytest.mark.usefixtures("cli_environment")


def state(url: str, *args: str) -> Result:
    """`companion --database-url URL analytics state ARGS…`, in-process."""
    return cli(url, "analytics", "state", *args)


def state_json(url: str, *args: str) -> dict[str, Any]:
    result = state(url, *args, "--format", "json")
    assert result.exit_code == 0, (result.output, result.exception)
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def moment() -> datetime:
    """Now, a little apart from the events before and after it."""
    time.sleep(0.02)
    now = datetime.now(UTC)
    time.sleep(0.02)
    return now


@dataclass(frozen=True)
class Story:
    user_id: UUID
    character_id: UUID
    item_id: UUID
    before_character: datetime
    created: datetime
    after_the_turn: datetime
    mood_after_the_turn: int
    expression_after_the_turn: str
    events: int


@pytest.fixture
def story(sqlite_url: str, tmp_path: Path) -> Iterator[Story]:
    """A user with 500 gems meets a character, tells it about ramen, then buys it a coat."""
    companion = open_companion(sqlite_url, tmp_path)
    try:
        user_id = companion.accounts.register(
            email="mei@example.com", password=PASSWORD, name="Mei", nickname="Mei"
        )
        companion.commerce.credit_gems(user_id, 500, kind="grant", reference="welcome")
        item_id, _ = companion.commerce.list_item(
            slug="winter-coat", name="Winter coat", category="outfit", rarity="rare", price_gems=120
        )
        before_character = moment()
        character_id, _ = companion.characters.create_character(
            user_id=user_id, persona=Persona.parse(**PERSONA_INPUT)
        )
        created = moment()
        companion.chat.send_message(
            user_id=user_id,
            character_id=character_id,
            text="I love talking to you! My favourite food is ramen.",
        )
        feeling = companion.feelings.emotion_state(user_id, character_id)
        assert feeling is not None
        after_the_turn = moment()
        companion.commerce.credit_gems(user_id, 50, kind="grant", reference="later")
        companion.commerce.purchase(
            user_id=user_id, item_id=item_id, character_id=character_id, idempotency_key="coat"
        )
        companion.commerce.equip(
            user_id=user_id, character_id=character_id, slot="outfit", item_id=item_id
        )
        companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="You are the worst, I hate this."
        )
        events = companion.application.recorder.max_notification_id() or 0
        yield Story(
            user_id,
            character_id,
            item_id,
            before_character,
            created,
            after_the_turn,
            feeling.mood,
            feeling.expression_name,
            events,
        )
    finally:
        companion.close()


def test_a_character_is_read_as_it_was_before_anything_happened_to_it(
    sqlite_url: str, story: Story
) -> None:
    found = state_json(
        sqlite_url,
        "--user",
        "mei@example.com",
        "--character",
        str(story.character_id),
        "--at",
        story.created.isoformat(),
    )

    assert found["mood"]["changed_at"] is None
    assert found["mood"]["mood"] == found["mood"]["baseline"]
    assert found["relationship_level"] == 1
    assert found["memories"] == []
    assert (found["gems"], found["items"]) == (500, [])


def test_a_character_is_read_as_the_first_turn_left_it(sqlite_url: str, story: Story) -> None:
    found = state_json(
        sqlite_url,
        "--user",
        str(story.user_id),
        "--character",
        str(story.character_id),
        "--at",
        story.after_the_turn.isoformat(),
    )

    assert found["mood"]["mood"] == story.mood_after_the_turn
    assert found["mood"]["expression"] == story.expression_after_the_turn
    assert found["mood"]["cause"] == "message"
    assert "The user's favourite food is ramen" in [m["text"] for m in found["memories"]]
    assert (found["gems"], found["items"]) == (500, [])


def test_the_items_and_gems_of_the_present_are_those_of_the_log(
    sqlite_url: str, story: Story
) -> None:
    found = state_json(
        sqlite_url,
        "--user",
        "mei@example.com",
        "--character",
        str(story.character_id),
        "--at",
        datetime.now(UTC).isoformat(),
    )

    assert found["gems"] == 500 + 50 - 120
    assert found["items"] == [
        {"item_id": str(story.item_id), "name": "Winter coat", "equipped_in": "outfit"}
    ]
    assert found["mood"]["mood"] != story.mood_after_the_turn


def test_the_table_names_the_mood_the_level_the_memories_and_the_items(
    sqlite_url: str, story: Story
) -> None:
    result = state(
        sqlite_url,
        "--user",
        "mei@example.com",
        "--character",
        str(story.character_id),
        "--at",
        datetime.now(UTC).isoformat(),
    )

    assert result.exit_code == 0, result.output
    for shown in ("relationship level", "ramen", "Winter coat", "outfit", "430"):
        assert shown in result.stdout


def test_before_the_character_existed_there_is_nothing_to_read(
    sqlite_url: str, story: Story
) -> None:
    result = state(
        sqlite_url,
        "--user",
        "mei@example.com",
        "--character",
        str(story.character_id),
        "--at",
        story.before_character.isoformat(),
    )

    assert result.exit_code == 1
    assert "had no character" in result.output


def test_reading_the_past_writes_nothing(sqlite_url: str, tmp_path: Path, story: Story) -> None:
    state_json(
        sqlite_url,
        "--user",
        "mei@example.com",
        "--character",
        str(story.character_id),
        "--at",
        story.after_the_turn.isoformat(),
    )

    companion = open_companion(sqlite_url, tmp_path)
    try:
        assert companion.application.recorder.max_notification_id() == story.events
    finally:
        companion.close()
