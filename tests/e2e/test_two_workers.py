"""Two `companion projections run` workers on one PostgreSQL, one of them killed again and
again while chat turns are appended: every read model ends as a rebuild makes it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from companion.app.bootstrap import Companion, bootstrap
from projections.leadership import leaders
from projections.postgres_views import PostgresViewStore
from tests.support.api import api_settings
from tests.support.cli import CONSOLE_SCRIPT as COMPANION
from tests.support.cli import ok
from tests.support.users import user_with_character

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KILLS = 10


class Worker:
    """One `companion projections run` process, started again after each kill."""

    def __init__(self, url: str, tmp_path: Path, name: str) -> None:
        self.url, self.log = url, tmp_path / f"{name}.log"
        self.env = {
            **os.environ,
            "COMPANION_DATA_DIR": str(tmp_path),
            "COMPANION_LOG_FORMAT": "json",
            "COMPANION_PROJECTION_POLL_INTERVAL": "0.05",
            "COMPANION_PROJECTION_BATCH_SIZE": "7",
            "COMPANION_PROJECTION_LEADERSHIP_RETRY_SECONDS": "0.2",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(COMPANION), "--database-url", self.url, "projections", "run"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=30) == 0, self.log.read_text()


def eventually(condition: Callable[[], bool], what: str, within: float = 120.0) -> None:
    """Wait for what the workers will do; the bound only turns a hang into a failure."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.02)


def leads_some(companion: Companion, worker: Worker) -> bool:
    """Whether `worker`'s process leads a read model now (its locks, by its heartbeat)."""
    views = companion.views
    assert isinstance(views, PostgresViewStore)
    ids = {w.worker_id for w in companion.runner.workers() if w.pid == worker.pid}
    return bool(ids & set(leaders(views, list(companion.runner.projections)).values()))


def shows_both(url: str, companion: Companion, *workers: Worker) -> bool:
    """Whether `companion projections status` shows each of `workers` leading read models."""
    status = ok(url, "projections", "status").output
    pids = {worker.pid for worker in workers}
    ids = [w.worker_id for w in companion.runner.workers() if w.pid in pids]
    return len(ids) == len(workers) and all(f"{id_[:8]} (" in status for id_ in ids)


@pytest.fixture
def companion(postgres_url: str, tmp_path: Path) -> Iterator[Companion]:
    companion = bootstrap(
        api_settings(tmp_path, database_url=postgres_url, embedded_projections=False)
    )
    yield companion
    companion.close()


def test_a_worker_killed_ten_times_under_load_leaves_every_read_model_as_a_rebuild(
    companion: Companion, postgres_url: str, tmp_path: Path
) -> None:
    steady, victim = (
        Worker(postgres_url, tmp_path, "steady"),
        Worker(postgres_url, tmp_path, "victim"),
    )
    pairs = [user_with_character(companion, f"load{n}@example.org") for n in range(4)]
    done = threading.Event()
    failures: list[BaseException] = []

    def append() -> None:
        n = 0
        try:
            while not done.is_set():
                user_id, character_id = pairs[n % len(pairs)]
                companion.chat.send_message(
                    user_id=user_id, character_id=character_id, text=f"turn {n}"
                )
                n += 1
        except BaseException as error:
            failures.append(error)

    appender = threading.Thread(target=append)
    try:
        steady.start()
        victim.start()
        appender.start()
        for _ in range(KILLS):
            eventually(lambda: leads_some(companion, victim), "the victim leading its share")
            victim.kill()
            victim.start()
        eventually(lambda: leads_some(companion, victim), "the last victim leading its share")
        eventually(lambda: shows_both(postgres_url, companion, steady, victim), "both in status")
        done.set()
        appender.join()
        assert failures == []
        runner = companion.runner
        head = runner.head()
        eventually(
            lambda: all(runner.position(name) >= head for name in runner.projections),
            "every read model at the head",
        )
    finally:
        done.set()
        appender.join()
        victim.stop()
        steady.stop()
    logs = victim.log.read_text()
    assert logs.count("projections.leadership_taken") >= KILLS
    for projection in companion.read_models.all():
        live = projection.dump(companion.views)
        companion.runner.rebuild(projection)
        assert projection.dump(companion.views) == live, projection.name
