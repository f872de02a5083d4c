"""The directory API processes share their metrics through: cleaned when a deployment starts
afresh, kept (but for a dead process's open sockets) while another process of it lives."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.app import metrics


def _pid_of_a_process_that_ended() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "metrics"
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(directory))
    return directory


@pytest.fixture
def living() -> Iterator[int]:
    """Another process of the deployment, alive while the test runs."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _files(directory: Path, *pids: int) -> list[str]:
    names = []
    for pid in pids:
        for kind in ("counter", "histogram", "gauge_livesum"):
            (directory / f"{kind}_{pid}.db").write_bytes(b"")
            names.append(f"{kind}_{pid}.db")
    return names


def test_a_deployment_starting_afresh_starts_from_zero(shared: Path) -> None:
    shared.mkdir()
    _files(shared, _pid_of_a_process_that_ended())
    metrics.process_started()
    assert sorted(p.name for p in shared.iterdir()) == []


def test_a_file_under_this_processs_own_id_is_no_other_process_alive(shared: Path) -> None:
    shared.mkdir()
    own = _files(shared, os.getpid())
    _files(shared, _pid_of_a_process_that_ended())
    metrics.process_started()
    assert sorted(p.name for p in shared.iterdir()) == sorted(own)


def test_a_process_joining_a_running_deployment_keeps_the_dead_ones_counts(
    shared: Path, living: int
) -> None:
    shared.mkdir()
    dead = _pid_of_a_process_that_ended()
    alive = _files(shared, living)
    _files(shared, dead)
    metrics.process_started()
    assert sorted(p.name for p in shared.iterdir()) == sorted(
        [*alive, f"counter_{dead}.db", f"histogram_{dead}.db"]
    )


def test_the_directory_is_made_when_missing(shared: Path) -> None:
    metrics.process_started()
    assert shared.is_dir()


def test_without_the_directory_setting_nothing_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    metrics.process_started()
    metrics.process_stopped()
    assert list(tmp_path.iterdir()) == []
