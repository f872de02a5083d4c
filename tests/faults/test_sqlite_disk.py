"""The embedded SQLite store on a full disk and on a read-only one: a clear 503, nothing lost,
nothing corrupted, and service again once the disk is writable."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from tests.support.api import api_settings, new_character, sign_up
from tests.support.cli import CONSOLE_SCRIPT
from tests.support.event_log import recorded
from tests.support.live_client import api_server, wait_until

pytestmark = pytest.mark.slow

DISK_SIZE = "4m"
TURNS_UNTIL_REFUSED = 200


def mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"`mount {' '.join(args)}` failed ({result.stderr.strip()}): these tests mount a"
            " small tmpfs and need root (or CAP_SYS_ADMIN)",
            pytrace=False,
        )


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A tmpfs of DISK_SIZE, mounted for this test and unmounted after."""
    where = Path(tempfile.mkdtemp(prefix="companion-disk-"))
    try:
        mount("-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(where))
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


@pytest.fixture
def companion(small_disk: Path) -> Iterator[Companion]:
    companion = bootstrap(
        api_settings(
            small_disk,
            database_url=f"sqlite:///{small_disk}/events.db",
            read_your_writes_timeout=0.5,
            messages_per_minute=100_000,
            messages_per_day=1_000_000,
        )
    )
    yield companion
    companion.close()


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; the file."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    refused: OSError | None = None
    with filler.open("wb", buffering=0) as out:
        while refused is None:
            try:
                out.write(chunk)
            except OSError as error:
                refused = error
    assert refused.errno == errno.ENOSPC, refused
    return filler


def assert_intact(disk: Path) -> None:
    for name in ("events.db", "events-projections.db"):
        with sqlite3.connect(disk / name) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], name


class Turns:
    """A user's chat turns over the API, each answered 200 (acknowledged) or 503."""

    def __init__(self, client: TestClient[Any]) -> None:
        self.client = client
        self.user = sign_up(client)
        self.path = f"/api/v1/characters/{new_character(client, self.user)}/messages"
        self.acknowledged: list[str] = []
        self.sent = 0

    def send(self) -> Any:
        self.sent += 1
        answer = self.client.post(self.path, headers=self.user, json={"text": f"turn {self.sent}"})
        assert answer.status_code in (200, 503), answer.text
        if answer.status_code == 200:
            self.acknowledged.append(answer.json()["message_id"])
        return answer


def test_a_full_disk_is_answered_503_loses_nothing_and_serves_again_with_space(
    small_disk: Path, companion: Companion
) -> None:
    with TestClient(create_app(companion)) as client:
        turns = Turns(client)
        for _ in range(3):
            assert turns.send().status_code == 200
        filler = fill(small_disk)
        try:
            refused = None
            for _ in range(TURNS_UNTIL_REFUSED):
                answer = turns.send()
                if answer.status_code == 503:
                    refused = answer
                    break
            assert refused is not None, "every turn went through on a disk that takes no writes"
            assert refused.json()["extra"]["code"] == "store_unavailable", refused.text
            assert refused.headers.get("retry-after")
            assert client.get("/ready").status_code in (200, 503)
        finally:
            filler.unlink()
        wait_until(lambda: turns.send().status_code == 200, 30, "turns stored again")
        assert turns.send().status_code == 200
        wait_until(lambda: client.get("/ready").status_code == 200, 30, "ready again")
        stored = [str(e.message_id) for e in recorded(companion, ".UserMessageSent")]
        page = client.get(turns.path, headers=turns.user, params={"limit": 100}).json()
    shown = {m["message_id"] for m in page["messages"]}

    assert_intact(small_disk)
    assert len(stored) == len(set(stored))
    assert set(turns.acknowledged) <= set(stored), "an acknowledged turn is not in the log"
    assert set(turns.acknowledged) <= shown, "an acknowledged turn is not in the read model"


def test_a_read_only_store_stops_serve_with_one_line_and_serves_again_when_writable(
    small_disk: Path, companion: Companion, tmp_path: Path
) -> None:
    with TestClient(create_app(companion)) as client:
        turns = Turns(client)
        for _ in range(3):
            assert turns.send().status_code == 200
    companion.close()
    url = f"sqlite:///{small_disk}/events.db"
    server = api_server(small_disk, "api", COMPANION_DATABASE_URL=url)
    server.log = tmp_path / "api.log"

    mount("-o", "remount,ro", str(small_disk))
    try:
        refused = subprocess.run(
            [str(CONSOLE_SCRIPT), "serve", "--port", str(server.port)],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        mount("-o", "remount,rw", str(small_disk))
    assert refused.returncode != 0
    said = refused.stderr.strip().splitlines()
    assert len(said) == 1, refused.stderr[-3000:]
    assert "event store" in said[0], said

    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=20) as http:
            page = http.get(turns.path, headers=turns.user, params={"limit": 100})
            assert page.status_code == 200, page.text
            shown = {m["message_id"] for m in page.json()["messages"]}
            assert set(turns.acknowledged) <= shown
            answer = http.post(turns.path, headers=turns.user, json={"text": "writable again"})
            assert answer.status_code == 200, answer.text
    finally:
        server.stop()
    assert_intact(small_disk)
