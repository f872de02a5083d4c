"""A projection worker killed with SIGKILL mid-batch, again and again, beside a second worker."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.app.bootstrap import Companion, bootstrap
from companion.domain.characters import Persona
from tests.support.cli import CONSOLE_SCRIPT
from tests.support.live_client import wait_until
from tests.support.personas import PERSONA_INPUT
from tests.support.read_models import dumps
from tests.support.settings import CHEAP_ENVIRONMENT, cheap_settings
from tests.support.users import PASSWORD

pytestmark = pytest.mark.slow

KILLS = 10
# Small batches: a kill lands inside one far more often than between two.
BATCH_SIZE = "7"


def start_worker(database_url: str, data_dir: Path, name: str) -> subprocess.Popen[bytes]:
    """`companion projections run`, once it follows the log."""
    log = data_dir / f"{name}.log"
    env = {
        **os.environ,
        **CHEAP_ENVIRONMENT,
        "COMPANION_DATA_DIR": str(data_dir),
        "COMPANION_LOG_FORMAT": "json",
        "COMPANION_PROJECTION_BATCH_SIZE": BATCH_SIZE,
        "COMPANION_PROJECTION_POLL_INTERVAL": "0.05",
        "COMPANION_DAILY_LIFE": "false",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(CONSOLE_SCRIPT), "--database-url", database_url, "projections", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_until(
        lambda: process.poll() is not None or b"projections.running" in log.read_bytes(),
        60,
        f"{name} following the log",
    )
    assert process.poll() is None, log.read_text()
    return process


@pytest.fixture
def companion(database_url: str, tmp_path: Path) -> Iterator[Companion]:
    """The writing side, in this process, with no projection runner of its own."""
    companion = bootstrap(
        cheap_settings(database_url=database_url, data_dir=tmp_path, embedded_projections=False)
    )
    yield companion
    companion.close()


class Writer:
    """Chat turns appended to the log until stopped: the workers always have work."""

    def __init__(self, companion: Companion) -> None:
        self.companion = companion
        self.stopping = threading.Event()
        self.turns = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        try:
            pairs = []
            for n in range(3):
                user_id = self.companion.accounts.register(
                    email=f"writer{n}@example.com", password=PASSWORD, name="W", nickname="W"
                )
                character_id, _ = self.companion.characters.create_character(
                    user_id=user_id, persona=Persona.parse(**PERSONA_INPUT)
                )
                pairs.append((user_id, character_id))
            while not self.stopping.is_set():
                user_id, character_id = pairs[self.turns % len(pairs)]
                self.companion.chat.send_message(
                    user_id=user_id, character_id=character_id, text=f"turn {self.turns}"
                )
                self.turns += 1
                # Room on a small machine for the workers to start and apply.
                time.sleep(0.005)
        except BaseException as error:
            self.error = error


def test_read_models_equal_a_rebuild_after_a_worker_is_killed_ten_times(
    companion: Companion, database_url: str, tmp_path: Path
) -> None:
    writer = Writer(companion)
    writer.thread.start()
    steady = start_worker(database_url, tmp_path, "steady")
    victim: subprocess.Popen[bytes] | None = None
    killed = 0
    chance = random.Random(20261208)
    try:
        for n in range(KILLS):
            victim = start_worker(database_url, tmp_path, f"victim{n}")
            # Killed while it applies batches: the writer keeps both workers busy.
            time.sleep(chance.uniform(0.2, 1.2))
            assert victim.poll() is None, (tmp_path / f"victim{n}.log").read_text()
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=20)
            killed += 1
        writer.stopping.set()
        writer.thread.join(timeout=60)
        assert writer.error is None, writer.error
        assert writer.turns > 0

        runner = companion.runner
        head = runner.head()
        wait_until(
            lambda: all(runner.position(name) >= head for name in runner.projections),
            90,
            "the surviving worker at the head of the log",
        )
    finally:
        writer.stopping.set()
        if victim is not None and victim.poll() is None:
            victim.kill()
            victim.wait(timeout=20)
        steady.send_signal(signal.SIGTERM)
        assert steady.wait(timeout=30) == 0, (tmp_path / "steady.log").read_text()
    assert killed == KILLS

    live = dumps(companion)
    for projection in companion.runner.projections.values():
        companion.runner.rebuild(projection)
    assert dumps(companion) == live
