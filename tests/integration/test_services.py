"""The service fixtures of tests/conftest.py, against the real servers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psycopg
import pytest
import redis

TESTS_DIR = Path(__file__).resolve().parents[1]
ROOT = TESTS_DIR.parent

# Databases handed out to earlier tests of this module, to check they differ
# from (and no longer exist alongside) the current one.
_databases_seen: list[str] = []


@pytest.mark.postgres
def test_fresh_database_is_empty_and_usable(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        assert name[0].startswith("companion_test_")
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)

        conn.execute("CREATE TABLE probe (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO probe VALUES (1, 'hello')")
        assert conn.execute("SELECT note FROM probe").fetchall() == [("hello",)]


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_its_own_database(
    attempt: int, postgres_url: str, postgres_admin_url: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    assert name not in _databases_seen
    with psycopg.connect(postgres_admin_url) as conn:
        left_over = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (_databases_seen,)
        ).fetchall()
    assert left_over == [], "databases of earlier tests should have been dropped"
    _databases_seen.append(name)


@pytest.mark.redis
def test_redis_round_trip(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert client.dbsize() == 0
        client.set("companion:probe", "hello")
        assert client.get("companion:probe") == "hello"
    finally:
        client.close()


def run_probe(
    fixture: str, env_overrides: dict[str, str | None]
) -> subprocess.CompletedProcess[str]:
    """Run pytest in a subprocess on one generated test that uses `fixture`.

    The file goes in a temporary folder under tests/ so that tests/conftest.py
    applies to it exactly as to the real tests. The folder's name starts with a
    dot, so a concurrent run that recurses into tests/ never collects it.
    """
    env = dict(os.environ)
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    with tempfile.TemporaryDirectory(dir=TESTS_DIR, prefix=".probe-") as folder:
        probe = Path(folder) / "test_probe.py"
        probe.write_text(
            textwrap.dedent(
                f"""
                def test_probe({fixture}):
                    pass
                """
            )
        )
        return subprocess.run(
            [sys.executable, "-m", "pytest", str(probe), "-p", "no:cacheprovider", "-q"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def summary_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.strip().splitlines()[-1]


UNREACHABLE = [
    pytest.param(
        "postgres_admin_url",
        "COMPANION_TEST_POSTGRES_URL",
        "postgresql://postgres@127.0.0.1:1/postgres",
        "PostgreSQL is not reachable",
        id="postgres",
    ),
    pytest.param(
        "redis_url",
        "COMPANION_TEST_REDIS_URL",
        "redis://127.0.0.1:1/15",
        "Redis is not reachable",
        id="redis",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("fixture", "variable", "url", "message"), UNREACHABLE)
def test_unreachable_service_fails_in_ci(
    fixture: str, variable: str, url: str, message: str
) -> None:
    result = run_probe(fixture, {variable: url, "CI": "true"})
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output
    # A failure inside a fixture is reported as an error of the test's setup.
    assert re.fullmatch(r"1 (failed|error) in .*", summary_line(result)), output
    assert message in output


@pytest.mark.slow
@pytest.mark.parametrize(("fixture", "variable", "url", "message"), UNREACHABLE)
def test_unreachable_service_skips_locally(
    fixture: str, variable: str, url: str, message: str
) -> None:
    result = run_probe(fixture, {variable: url, "CI": None})
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.OK, output
    assert re.fullmatch(r"1 skipped in .*", summary_line(result)), output
    assert message in output
    assert "make services" in output
