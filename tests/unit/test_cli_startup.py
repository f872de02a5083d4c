"""The command line starts at once: declaring its commands imports no store, server or client."""

from __future__ import annotations

import subprocess
import sys
import typing

from companion.app.cli import catalogue as catalogue_commands
from companion.app.cli import events as events_commands

# What only running a command may import: each costs from tens to hundreds of milliseconds.
HEAVY = (
    "eventsourcing",
    "litestar",
    "psycopg",
    "openai",
    "stripe",
    "uvicorn",
    "redis",
    "structlog",
    "pydantic_settings",
    "companion.app.bootstrap",
    "companion.app.settings",
    "companion.app.server",
    "pyarrow",
    "duckdb",
)

SHOW_IMPORTED = """
import sys
from typer.testing import CliRunner
from companion.app.cli import app

result = CliRunner().invoke(app, sys.argv[1:])
assert result.exit_code == 0, result.output
print(" ".join(sorted(sys.modules)))
"""


def imported_by(*args: str) -> set[str]:
    """The modules loaded by `companion ARGS…` in a fresh interpreter."""
    finished = subprocess.run(
        [sys.executable, "-c", SHOW_IMPORTED, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(finished.stdout.split())


def test_help_imports_no_store_server_or_client() -> None:
    assert sorted(set(HEAVY) & imported_by("--help")) == []


def test_a_command_s_help_imports_none_of_them_either() -> None:
    for command in (["events", "export"], ["catalogue", "add"], ["replay", "reply"], ["serve"]):
        assert sorted(set(HEAVY) & imported_by(*command, "--help")) == [], command


def test_the_command_line_offers_the_applications_export_formats() -> None:
    from companion.app.event_log import ExportFormat

    assert typing.get_args(events_commands.Format) == tuple(f.value for f in ExportFormat)


def test_the_command_line_names_the_domains_categories_and_rarities() -> None:
    from companion.domain.catalogue import CATEGORIES, RARITIES

    assert " | ".join(CATEGORIES) == catalogue_commands.CATEGORY_CHOICES
    assert " | ".join(RARITIES) == catalogue_commands.RARITY_CHOICES
