"""The projection worker lives the characters' days, and a restart never lives one twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from companion.app.bootstrap import bootstrap
from companion.app.settings import Settings
from companion.domain.characters import Persona
from companion.domain.daily_life import DailyLife, draw
from tests.support.personas import PERSONA_INPUT
from tests.support.settings import cheap_settings

CONSOLE_SCRIPT = Path(sys.executable).with_name("companion")


def a_seed_with_events(character_id: UUID) -> str:
    """A seed under which the character's today and tomorrow (UTC) both have an event."""
    today = datetime.now(UTC).date()
    occupation = PERSONA_INPUT["occupation"]
    for number in range(1000):
        seed = f"seed-{number}"
        if all(
            draw(character_id, day, seed, occupation=occupation) is not None
            for day in (today, today + timedelta(days=1))
        ):
            return seed
    raise AssertionError("no seed gives this character an event today")


def days_lived(url: str, tmp_path: Path) -> int:
    companion = bootstrap(_settings(url, tmp_path))
    try:
        topic = f"{DailyLife.__module__}:{DailyLife.DailyEventOccurred.__qualname__}"
        return len(companion.application.recorder.select_notifications(1, 1000, topics=[topic]))
    finally:
        companion.close()


def _settings(url: str, tmp_path: Path) -> Settings:
    return cheap_settings(
        _env_file=None,
        database_url=url,
        data_dir=tmp_path,
        catalogue_defaults=False,
    )


def run_worker_until(url: str, seed: str, tmp_path: Path, logged: str) -> str:
    """Run `companion projections run` until its log says `logged`, then SIGTERM it."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")},
        "COMPANION_DATA_DIR": str(tmp_path),
        "COMPANION_DAILY_LIFE_SEED": seed,
        "COMPANION_DAILY_LIFE_INTERVAL": "0.2",
        "COMPANION_LOG_LEVEL": "DEBUG",
        "COMPANION_LOG_FORMAT": "json",
        "COMPANION_CATALOGUE_DEFAULTS": "false",
    }
    worker = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "--database-url", url, "projections", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    lines: list[str] = []
    assert worker.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(worker.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any(logged in line for line in list(lines)):
            assert worker.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, "".join(lines)
    return "".join(lines)


def test_the_worker_lives_a_day_once_across_restarts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    companion = bootstrap(_settings(url, tmp_path))
    try:
        user_id = companion.accounts.register(
            email="aiko@example.com", password="correct horse battery", name="Aiko", nickname="Ai"
        )
        character_id, _ = companion.characters.create_character(
            user_id=user_id, persona=Persona.parse(**PERSONA_INPUT)
        )
    finally:
        companion.close()
    seed = a_seed_with_events(character_id)

    first = run_worker_until(url, seed, tmp_path, "daily_life.lived")
    assert str(character_id) in first
    assert days_lived(url, tmp_path) == 1

    again = run_worker_until(url, seed, tmp_path, '"daily_life.round"')
    assert "daily_life.lived" not in again
    assert days_lived(url, tmp_path) == 1
