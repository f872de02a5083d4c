"""Throwaway PostgreSQL and Redis servers on free ports, for tests that stop and start them.

A fault test may restart its database or take Redis away; it must never do that to
the servers other tests share. These start servers of their own from the installed
binaries, in a temporary directory, and remove everything when stopped. A missing
binary fails the test with one line saying what to install (never a skip: a fault
test that does not run proves nothing).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import redis

from tests.support.server import free_port


def postgres_bindir() -> Path:
    """The directory of initdb, pg_ctl and postgres: PATH first, then the newest Debian one."""
    initdb = shutil.which("initdb")
    if initdb is not None and (Path(initdb).parent / "pg_ctl").exists():
        return Path(initdb).parent
    found = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL's initdb and pg_ctl are not installed: apt-get install postgresql",
            pytrace=False,
        )
    return found[-1]


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server", pytrace=False)
    return binary


def _server_owner() -> str | None:
    """Who runs PostgreSQL: nobody in particular, or, as root, postgres (else nobody)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "nobody"
    return "postgres"


def _as_server_user(argv: list[str]) -> list[str]:
    owner = _server_owner()
    return argv if owner is None else ["runuser", "-u", owner, "--", *argv]


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own: trust auth, user postgres, durability as in production.

    `fsync` stays on: a restart during a load must keep every committed turn, and the
    test is about exactly that.
    """

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="companion-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        owner = _server_owner()
        if owner is not None:
            shutil.chown(self.dir, owner)
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            _as_server_user([str(self.bindir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise AssertionError(
                f"{' '.join(args[:1])} failed: {result.stdout}{result.stderr}\n{log[-2000:]}"
            )

    def _options(self) -> str:
        return f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=200"

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._pg(
                "initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres",
                "--encoding=UTF8", "--no-locale",
            )  # fmt: skip
        self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
            "-o", self._options(), "start",
        )  # fmt: skip

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection cut, the server back on the same port."""
        self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
            "-m", "fast", "-o", self._options(), "restart",
        )  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


class ThrowawayRedis:
    """A redis-server subprocess on a port of its own, no persistence; stop and start it at will."""

    def __init__(self) -> None:
        self.binary = redis_binary()
        self.dir = Path(tempfile.mkdtemp(prefix="companion-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None, "already running"
        with (self.dir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", str(self.dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    assert self.process.poll() is None, (self.dir / "redis.log").read_text()
                    assert time.monotonic() < deadline, "redis-server did not answer"
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
