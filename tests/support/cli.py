"""The `companion` command line run in-process on a store, and a store seeded to run it on.

The tests that use it ask for the `cli_environment` fixture of
tests/integration/conftest.py: no settings from outside, data under tmp_path.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from typer.testing import CliRunner, Result

from companion.app.bootstrap import Companion, bootstrap
from companion.app.cli import app
from companion.domain.characters import Persona
from tests.support.personas import PERSONA_INPUT as PERSONA
from tests.support.settings import cheap_settings
from tests.support.users import PASSWORD

CONSOLE_SCRIPT = Path(sys.executable).with_name("companion")
FIRST_MESSAGE = "I planted tomatoes on the balcony today"
SECOND_MESSAGE = "The tomatoes are turning red already"


@dataclass(frozen=True)
class Seeded:
    user_id: UUID
    character_id: UUID
    between: datetime
    """A moment after the first chat turn and before the second."""


def open_companion(url: str, tmp_path: Path) -> Companion:
    return bootstrap(cheap_settings(database_url=url, data_dir=tmp_path))


def seed(url: str, tmp_path: Path) -> Seeded:
    """A user, a character and two chat turns, stored through the application."""
    companion = open_companion(url, tmp_path)
    try:
        user_id = companion.accounts.register(
            email="aiko@example.com", password=PASSWORD, name="Aiko", nickname="Ai"
        )
        character_id, _ = companion.characters.create_character(
            user_id=user_id, persona=Persona.parse(**PERSONA)
        )
        companion.chat.send_message(user_id=user_id, character_id=character_id, text=FIRST_MESSAGE)
        time.sleep(0.01)
        between = datetime.now(UTC)
        time.sleep(0.01)
        companion.chat.send_message(user_id=user_id, character_id=character_id, text=SECOND_MESSAGE)
    finally:
        companion.close()
    return Seeded(user_id, character_id, between)


def invoke(*args: str) -> Result:
    """`companion ARGS…`, in-process."""
    # Each command sets up logging to the runner's own stderr, which is gone afterwards.
    logging_config = structlog.get_config()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        structlog.configure(**logging_config)


def cli(url: str, *args: str) -> Result:
    """`companion --database-url URL ARGS…`, in-process."""
    return invoke("--database-url", url, *args)


def ok(url: str, *args: str) -> Result:
    result = cli(url, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def exported(url: str, *args: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ok(url, "events", "export", *args).stdout.splitlines()]


def user_messages(records: list[dict[str, Any]]) -> list[str]:
    return [r["state"]["text"] for r in records if r["topic"].endswith(".UserMessageSent")]
