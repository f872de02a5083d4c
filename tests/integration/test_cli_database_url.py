"""`--database-url` names the store before the command or after it; after it wins."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from companion.app.settings import Settings
from tests.support.cli import invoke, seed

pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture
def seeded_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    seed(url, tmp_path)
    return url


@pytest.fixture
def missing_url(tmp_path: Path) -> str:
    """A store that does not exist: read-only commands refuse it with exit status 1."""
    return f"sqlite:///{tmp_path / 'missing.db'}"


def succeeded(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_events_count_takes_the_store_before_or_after_the_command(seeded_url: str) -> None:
    before = succeeded("--database-url", seeded_url, "events", "count")
    after = succeeded("events", "count", "--database-url", seeded_url)

    assert int(after) > 0
    assert after == before


def test_projections_status_takes_the_store_before_or_after_the_command(
    seeded_url: str,
) -> None:
    before = succeeded("--database-url", seeded_url, "projections", "status")
    after = succeeded("projections", "status", "--database-url", seeded_url)

    assert f"event store: {seeded_url}" in after
    assert after == before


def test_catalogue_list_takes_the_store_after_the_command(seeded_url: str) -> None:
    assert succeeded("catalogue", "list", "--json", "--database-url", seeded_url) == ""


def test_the_store_named_after_the_command_wins(seeded_url: str, missing_url: str) -> None:
    assert invoke("--database-url", missing_url, "events", "count").exit_code == 1

    counted = succeeded(
        "--database-url", missing_url, "events", "count", "--database-url", seeded_url
    )

    assert counted == succeeded("events", "count", "--database-url", seeded_url)
    assert not Path(missing_url.removeprefix("sqlite:///")).exists()


def test_serve_takes_the_store_after_the_command(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str, missing_url: str
) -> None:
    served: list[Settings] = []
    server = types.ModuleType("companion.app.server")
    server.serve = lambda settings, *, host, port: served.append(settings)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "companion.app.server", server)

    succeeded("--database-url", missing_url, "serve", "--database-url", seeded_url)
    succeeded("serve", "--database-url", seeded_url)

    assert [settings.database_url for settings in served] == [seeded_url, seeded_url]
