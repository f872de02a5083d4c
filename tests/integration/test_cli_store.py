"""The command line cannot mislead: no store is made up, no type is guessed, no pipe breaks it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from companion.app.bootstrap import bootstrap
from companion.app.cli import app
from companion.app.settings import Settings
from companion.domain.characters import Persona
from tests.support.cli import CONSOLE_SCRIPT, cli, ok, open_companion, seed
from tests.support.personas import PERSONA_INPUT as PERSONA
from tests.support.settings import cheap_settings

pytestmark = pytest.mark.usefixtures("cli_environment")
READ_ONLY_COMMANDS = [
    ["events", "count"],
    ["events", "export"],
    ["events", "types"],
    ["projections", "status"],
    ["projections", "list"],
]
# Every event type the domain's aggregates declare today.
CATALOGUE = {
    "User.Registered",
    "User.ProfileUpdated",
    "User.PasswordChanged",
    "User.PasswordRehashed",
    "User.TierChanged",
    "User.Forgotten",
    "User.SignUpAttempted",
    "User.AdminGranted",
    "User.AdminRevoked",
    "EmailClaim.Claimed",
    "Character.Created",
    "Character.PersonaUpdated",
    "Character.CardImported",
    "Character.RelationshipLevelChanged",
    "Character.ItemEquipped",
    "Conversation.Started",
    "Conversation.UserMessageSent",
    "Conversation.CompanionReplied",
    "Conversation.ReplyRegenerated",
    "Conversation.ReplyChosen",
    "Conversation.MessageRead",
    "Conversation.VoiceMessageReceived",
    "Conversation.ReplySpoken",
    "EmotionState.Started",
    "EmotionState.CycleChanged",
    "EmotionState.MoodChanged",
    "MemoryBook.Opened",
    "MemoryBook.MemoryRecorded",
    "MemoryBook.MemoryReinforced",
    "MemoryBook.MemoryForgotten",
    "MemoryBook.MemoryExpired",
    "MemoryBook.MemoryEmbedded",
    "DailyLife.DailyEventOccurred",
    "DailyLife.DailyEventShared",
    "Wallet.Opened",
    "Wallet.GemsCredited",
    "Wallet.GemsDebited",
    "Wallet.ItemPurchased",
    "CatalogItem.Listed",
    "CatalogItem.Repriced",
    "CatalogItem.Delisted",
    "Payment.Created",
    "Payment.Succeeded",
    "Payment.Failed",
    "Payment.Refunded",
    "ProviderEvent.Received",
    "Subscription.Opened",
    "Subscription.CustomerLinked",
    "Subscription.Requested",
    "Subscription.Started",
    "Subscription.Updated",
    "Subscription.Renewed",
    "Subscription.Cancelled",
    "SubscriptionOrigin.Recorded",
    "Session.Started",
    "Session.Ended",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The URL of a store that does not exist yet, on each backend."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def companion_cli(*args: str) -> Result:
    """The CLI with its settings from the environment only (no --database-url)."""
    logging_config = structlog.get_config()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        structlog.configure(**logging_config)


def table_rows(output: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines()]


# -- no store is made up -----------------------------------------------------------------


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=" ".join)
def test_read_only_commands_from_another_directory_create_nothing_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("COMPANION_DATA_DIR")

    result = companion_cli(*command)

    assert result.exit_code == 1
    assert f"sqlite:///{elsewhere.resolve() / 'var' / 'companion.db'}" in result.stderr
    assert "COMPANION_DATABASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=" ".join)
def test_read_only_commands_on_a_missing_store_name_it_and_exit_1(
    store_url: str, tmp_path: Path, command: list[str]
) -> None:
    before = sorted(tmp_path.iterdir())

    result = cli(store_url, *command)

    assert result.exit_code == 1
    # Where the store was looked for (credentials aside).
    assert store_url.rpartition("@")[2].removeprefix("sqlite:///") in result.stderr
    assert "COMPANION_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.output
    assert sorted(tmp_path.iterdir()) == before
    # Nothing was created behind the error either: the store is still missing.
    assert cli(store_url, "events", "count").exit_code == 1


def test_status_and_serve_agree_on_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    bootstrap(cheap_settings(data_dir=data_dir)).close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPANION_DATA_DIR", "data")
    served: list[Settings] = []
    server = types.ModuleType("companion.app.server")
    server.serve = lambda settings, *, host, port: served.append(settings)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "companion.app.server", server)

    status = companion_cli("projections", "status")
    assert status.exit_code == 0, status.output
    assert f"data directory: {data_dir.resolve()}\n" in status.stdout
    assert f"event store: sqlite:///{data_dir.resolve() / 'companion.db'}\n" in status.stdout

    assert companion_cli("serve").exit_code == 0
    assert [s.data_dir for s in served] == [data_dir.resolve()]
    assert [s.database_url for s in served] == [f"sqlite:///{data_dir.resolve()}/companion.db"]


# -- no type is guessed ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [["events", "count"], ["events", "export"]], ids=" ".join)
def test_an_unknown_type_lists_the_known_ones_and_exits_2(
    store_url: str, tmp_path: Path, command: list[str]
) -> None:
    seed(store_url, tmp_path)

    result = cli(store_url, *command, "--type", "UserMessageSent", "--type", "UserMesageSent")

    assert result.exit_code == 2
    assert "'UserMesageSent'" in result.stderr
    assert all(name in result.stderr for name in CATALOGUE)
    assert result.stdout == ""


def test_types_lists_the_whole_catalogue_with_counts(store_url: str, tmp_path: Path) -> None:
    seed(store_url, tmp_path)

    rows = table_rows(ok(store_url, "events", "types").stdout)

    counts = {row[0]: int(row[1]) for row in rows if len(row) == 3 and row[1].isdigit()}
    assert set(counts) == CATALOGUE
    assert counts["User.Registered"] == counts["EmailClaim.Claimed"] == 1
    assert counts["Character.Created"] == counts["Conversation.Started"] == 1
    assert counts["Conversation.UserMessageSent"] == counts["Conversation.CompanionReplied"] == 2
    assert counts["User.Forgotten"] == counts["Conversation.ReplySpoken"] == 0
    assert sum(counts.values()) == int(ok(store_url, "events", "count").stdout)
    topics = {row[0]: row[2] for row in rows if len(row) == 3 and row[1].isdigit()}
    assert topics["Conversation.Started"] == "companion.domain.conversations:Conversation.Started"


# -- no pipe breaks it -------------------------------------------------------------------------


def into_a_closed_pipe(
    url: str, tmp_path: Path, command: list[str]
) -> subprocess.CompletedProcess[str]:
    """The console script writing into a pipe whose reader has already gone.

    `head -0` holds the pipe open until the script's end is opened, then leaves;
    the script starts only once it has left, so its first write meets a closed pipe
    (as `| head -1` does when the script writes more than head reads).
    """
    script = (
        'mkfifo "$2/pipe" || exit; '
        'head -0 < "$2/pipe" & '
        'exec 4> "$2/pipe"; wait $!; '
        'exec "$0" --database-url "$1" "${@:3}" >&4'
    )
    return subprocess.run(
        ["bash", "-c", script, str(CONSOLE_SCRIPT), url, str(tmp_path), *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # Only what goes wrong on stderr, not the progress of a command going well.
        env={**os.environ, "COMPANION_LOG_LEVEL": "WARNING"},
    )


PRINTING_COMMANDS = [
    ["events", "types"],
    ["events", "count"],
    ["events", "count", "--type", "UserMessageSent"],
    ["projections", "list"],
    ["projections", "status"],
    ["projections", "run", "--once"],
    ["projections", "rebuild", "--all"],
]


@pytest.mark.parametrize("command", PRINTING_COMMANDS, ids=" ".join)
def test_a_command_printing_into_a_closed_pipe_exits_0_quietly(
    store_url: str, tmp_path: Path, command: list[str]
) -> None:
    seed(store_url, tmp_path)

    done = into_a_closed_pipe(store_url, tmp_path, command)

    assert done.returncode == 0, done.stderr
    # A rebuild shows its progress bars on stderr; nothing else may be there.
    assert [line for line in done.stderr.splitlines() if not line.startswith("rebuilding ")] == []


def test_export_into_a_pipe_closed_early_exits_0_quietly(store_url: str, tmp_path: Path) -> None:
    companion = open_companion(store_url, tmp_path)
    try:
        user_id = companion.accounts.register(
            email="long@example.com", password="correct horse battery", name="Long", nickname="L"
        )
        character_id, _ = companion.characters.create_character(
            user_id=user_id, persona=Persona.parse(**PERSONA)
        )
        # Far more than a pipe buffers, so the export is still writing when head leaves.
        for turn in range(40):
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text=f"{turn} " + "x" * 3900
            )
    finally:
        companion.close()

    done = subprocess.run(
        [
            "bash",
            "-c",
            'set -o pipefail; "$0" --database-url "$1" events export | head -1',
            str(CONSOLE_SCRIPT),
            store_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr
    assert "Exception ignored" not in done.stderr
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["position"] == 1
