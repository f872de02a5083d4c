"""`companion events tail`: the log followed live by another process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from companion.app.bootstrap import Companion
from companion.domain.characters import Persona
from tests.support.cli import CONSOLE_SCRIPT, open_companion
from tests.support.personas import HANA, PERSONA_INPUT
from tests.support.users import PASSWORD

pytestmark = pytest.mark.usefixtures("cli_environment")
DEADLINE = 60.0
"""How long a line may take before the test fails rather than hangs (never a measure)."""


class Tail:
    """`companion events tail ARGS…` in a process of its own, its output read line by line."""

    def __init__(self, url: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(CONSOLE_SCRIPT), "--database-url", url, "events", "tail", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COMPANION_LOG_LEVEL": "warning"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.notes: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        for stream, into in ((self.process.stdout, self.lines), (self.process.stderr, self.notes)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()

    @staticmethod
    def _read(stream: IO[str], into: queue.Queue[str]) -> None:
        for line in stream:
            into.put(line)

    def following(self) -> str:
        """Wait until the command says it follows the log; what it said."""
        while True:
            note = self.notes.get(timeout=DEADLINE)
            if "following the log" in note:
                return note

    def records(self, count: int) -> list[dict[str, Any]]:
        return [json.loads(self.lines.get(timeout=DEADLINE)) for _ in range(count)]

    def until(self, topic_suffix: str) -> list[dict[str, Any]]:
        """Every record up to and including the first of this type."""
        seen: list[dict[str, Any]] = []
        while not seen or not seen[-1]["topic"].endswith(topic_suffix):
            seen.append(json.loads(self.lines.get(timeout=DEADLINE)))
        return seen

    def stop(self) -> int:
        """Ctrl-C; the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=DEADLINE)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/c.db"
    postgres: str = request.getfixturevalue("postgres_url")
    return postgres


@pytest.fixture
def companion(url: str, tmp_path: Path) -> Iterator[Companion]:
    """The application that appends while the tail follows (the store exists before it)."""
    opened = open_companion(url, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def tails() -> Iterator[list[Tail]]:
    started: list[Tail] = []
    yield started
    for tail in started:
        tail.close()


def meet(companion: Companion, email: str, persona: dict[str, Any], text: str) -> tuple[str, str]:
    user = companion.accounts.register(email=email, password=PASSWORD, name="A", nickname="A")
    character, _ = companion.characters.create_character(
        user_id=user, persona=Persona.parse(**persona)
    )
    companion.chat.send_message(user_id=user, character_id=character, text=text)
    return str(user), str(character)


def test_events_appended_by_the_application_are_printed_as_they_come(
    url: str, companion: Companion, tails: list[Tail]
) -> None:
    tail = Tail(url)
    tails.append(tail)
    how = tail.following()

    user, character = meet(companion, "mei@example.com", PERSONA_INPUT, "Good morning!")
    seen = tail.until("Conversation.UserMessageSent")

    assert seen[0]["topic"].endswith("User.Registered")
    positions = [r["position"] for r in seen]
    assert positions == sorted(positions) == list(range(positions[0], positions[-1] + 1))
    message = seen[-1]
    assert (message["user_id"], message["character_id"]) == (user, character)
    assert message["state"]["text"] == "Good morning!"
    # PostgreSQL announces every append; only SQLite needs to be polled.
    assert ("listening" if url.startswith("postgresql") else "polling") in how
    assert tail.stop() == 0


def test_the_type_and_user_filters_hold_for_what_comes_later(
    url: str, companion: Companion, tails: list[Tail]
) -> None:
    mei = companion.accounts.register(
        email="mei@example.com", password=PASSWORD, name="M", nickname="M"
    )
    tail = Tail(url, "--type", "UserMessageSent", "--user", "mei@example.com")
    tails.append(tail)
    tail.following()

    meet(companion, "ren@example.com", HANA, "Not for this tail")
    character, _ = companion.characters.create_character(
        user_id=mei, persona=Persona.parse(**PERSONA_INPUT)
    )
    companion.chat.send_message(user_id=mei, character_id=character, text="Hello from Mei")
    companion.chat.send_message(user_id=mei, character_id=character, text="And again")
    first, second = tail.records(2)

    assert [r["topic"].rpartition(".")[2] for r in (first, second)] == ["UserMessageSent"] * 2
    assert (first["user_id"], first["character_id"]) == (str(mei), str(character))
    assert [first["state"]["text"], second["state"]["text"]] == ["Hello from Mei", "And again"]
    assert tail.stop() == 0


def test_a_tail_since_a_position_prints_the_past_then_follows(
    url: str, companion: Companion, tails: list[Tail]
) -> None:
    meet(companion, "mei@example.com", PERSONA_INPUT, "Before the tail")
    tail = Tail(url, "--since", "1", "--type", "UserMessageSent")
    tails.append(tail)
    tail.following()

    meet(companion, "ren@example.com", HANA, "After the tail")
    texts = [r["state"]["text"] for r in tail.records(2)]

    assert texts == ["Before the tail", "After the tail"]
    assert tail.stop() == 0
