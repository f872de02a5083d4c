"""The `companion` command line against real stores: SQLite files and PostgreSQL."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import types
from datetime import datetime
from pathlib import Path

import pytest

from companion.app.bootstrap import ReadModels
from companion.app.settings import Settings
from projections.characters import CharactersProjection
from projections.conversations import ConversationsProjection
from tests.support.cli import (
    CONSOLE_SCRIPT,
    FIRST_MESSAGE,
    SECOND_MESSAGE,
    cli,
    exported,
    ok,
    open_companion,
    seed,
    user_messages,
)
from tests.support.personas import PERSONA_INPUT as PERSONA

pytestmark = pytest.mark.usefixtures("cli_environment")
CHARACTERS = CharactersProjection().characters_table
MESSAGES = ConversationsProjection().messages_table


def status(url: str) -> dict[str, dict[str, int]]:
    """`projections status` parsed: name → position, head and lag."""
    rows: dict[str, dict[str, int]] = {}
    for line in ok(url, "projections", "status").stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 4 and cells[1].isdigit():
            rows[cells[0]] = dict(
                zip(("position", "head", "lag"), map(int, cells[1:]), strict=True)
            )
    return rows


def stored_event_count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "c.db") as db:
        (count,) = db.execute("SELECT count(*) FROM stored_events").fetchone()
    return int(count)


# -- projections -----------------------------------------------------------------------


def test_list_shows_every_projection_with_its_key_and_tables(
    sqlite_url: str, tmp_path: Path
) -> None:
    open_companion(sqlite_url, tmp_path).close()

    output = ok(sqlite_url, "projections", "list").stdout

    assert "conversations@v2" in output
    assert "conversation_messages_v2" in output
    assert "characters@v1" in output
    assert CHARACTERS in output


def test_status_shows_lag_until_the_worker_has_caught_up(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)

    before = status(sqlite_url)
    assert set(before) == {projection.name for projection in ReadModels().all()}
    assert all(row["lag"] > 0 and row["position"] == 0 for row in before.values())

    ok(sqlite_url, "projections", "run", "--once")

    after = status(sqlite_url)
    head = stored_event_count(tmp_path)
    assert all(row == {"position": head, "head": head, "lag": 0} for row in after.values())


def test_rebuilt_projection_equals_live_projection(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    ok(sqlite_url, "projections", "run", "--once")
    companion = open_companion(sqlite_url, tmp_path)
    try:
        models = companion.read_models
        live = {p.name: p.dump(companion.views) for p in models.all()}
        assert live["conversations"][MESSAGES], "the live build should hold the messages"
        with companion.views.write(models.conversations.key) as cursor:
            cursor.execute(f"DELETE FROM {MESSAGES}")
        with companion.views.write(models.characters.key) as cursor:
            cursor.execute(f"UPDATE {CHARACTERS} SET relationship_level = 99")

        result = ok(sqlite_url, "projections", "rebuild", "conversations")
        assert "rebuilt conversations@v2: 5 events applied" in result.stdout
        assert models.conversations.dump(companion.views) == live["conversations"]
        assert models.characters.dump(companion.views) != live["characters"]

        result = ok(sqlite_url, "projections", "rebuild", "--all")
        assert "rebuilt characters@v1: 1 events applied" in result.stdout
        assert {p.name: p.dump(companion.views) for p in models.all()} == live
    finally:
        companion.close()
    assert all(row["lag"] == 0 for row in status(sqlite_url).values())


def test_rebuild_of_an_unknown_projection_exits_2(sqlite_url: str, tmp_path: Path) -> None:
    open_companion(sqlite_url, tmp_path).close()
    result = cli(sqlite_url, "projections", "rebuild", "moods")

    assert result.exit_code == 2
    assert "no projection named 'moods'" in result.stderr
    assert "conversations" in result.stderr
    assert "Traceback" not in result.output


def test_rebuild_needs_a_name_or_all_but_not_both(sqlite_url: str) -> None:
    assert cli(sqlite_url, "projections", "rebuild").exit_code == 2
    assert cli(sqlite_url, "projections", "rebuild", "characters", "--all").exit_code == 2


def test_worker_follows_the_log_and_stops_on_sigterm(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    worker = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "--database-url", sqlite_url, "projections", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while any(row["lag"] for row in status(sqlite_url).values()):
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker did not catch up"
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        _, logs = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()

    assert worker.returncode == 0, logs
    assert "projections.stopping" in logs
    assert "SIGTERM" in logs


# -- events ----------------------------------------------------------------------------


def test_count_equals_the_number_of_stored_events(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)

    assert ok(sqlite_url, "events", "count").stdout.strip() == str(stored_event_count(tmp_path))
    assert ok(sqlite_url, "events", "count", "--type", "UserMessageSent").stdout.strip() == "2"


def test_export_gives_one_json_object_per_event_with_its_state(
    sqlite_url: str, tmp_path: Path
) -> None:
    seeded = seed(sqlite_url, tmp_path)

    records = exported(sqlite_url, "--format", "jsonl")

    assert [r["position"] for r in records] == list(range(1, stored_event_count(tmp_path) + 1))
    assert all(
        set(r)
        == {
            "position",
            "topic",
            "originator_id",
            "originator_version",
            "timestamp",
            "user_id",
            "character_id",
            "state",
        }
        for r in records
    )
    assert user_messages(records) == [FIRST_MESSAGE, SECOND_MESSAGE]
    created = next(r for r in records if r["topic"].endswith(":Character.Created"))
    assert created["originator_id"] == str(seeded.character_id)
    assert created["originator_version"] == 1
    assert created["state"]["owner_id"] == str(seeded.user_id)
    assert created["state"]["persona"]["name"] == PERSONA["name"]
    assert datetime.fromisoformat(created["timestamp"]) < seeded.between
    envelope = {"originator_id", "originator_version", "timestamp"}
    assert all(envelope.isdisjoint(r["state"]) for r in records)
    registered = next(r for r in records if r["topic"].endswith(":User.Registered"))
    assert registered["state"]["password_hash"] == "[redacted]"


def test_export_decrypts_events_that_are_encrypted_at_rest(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPANION_CIPHER_KEY", base64.b64encode(os.urandom(32)).decode())
    seed(sqlite_url, tmp_path)

    assert user_messages(exported(sqlite_url)) == [FIRST_MESSAGE, SECOND_MESSAGE]
    event_files = [p for p in tmp_path.iterdir() if p.name.startswith("c.db")]
    assert event_files
    for path in event_files:
        raw = path.read_bytes()
        assert b"tomatoes" not in raw, path
        assert b"Haruto" not in raw, path

    monkeypatch.setenv("COMPANION_CIPHER_KEY", base64.b64encode(os.urandom(32)).decode())
    wrong_key = cli(sqlite_url, "events", "export")
    assert wrong_key.exit_code == 1
    assert "COMPANION_CIPHER_KEY" in wrong_key.stderr
    assert len(wrong_key.stderr.strip().splitlines()) == 1
    assert wrong_key.stdout == ""


def test_type_filter_takes_class_names_qualified_names_and_topics(
    sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, tmp_path)
    topic = "companion.domain.conversations:Conversation.UserMessageSent"

    for type_name in ("UserMessageSent", "Conversation.UserMessageSent", topic):
        records = exported(sqlite_url, "--type", type_name)
        assert [r["topic"] for r in records] == [topic, topic], type_name
        assert user_messages(records) == [FIRST_MESSAGE, SECOND_MESSAGE]

    both = exported(sqlite_url, "--type", "UserMessageSent", "--type", "CompanionReplied")
    assert [r["topic"].rpartition(".")[2] for r in both] == [
        "UserMessageSent",
        "CompanionReplied",
    ] * 2


def test_since_and_until_split_the_log_at_a_moment(sqlite_url: str, tmp_path: Path) -> None:
    seeded = seed(sqlite_url, tmp_path)
    moment = seeded.between.isoformat()
    everything = exported(sqlite_url)

    before = exported(sqlite_url, "--until", moment)
    after = exported(sqlite_url, "--since", moment)

    assert before + after == everything
    assert user_messages(before) == [FIRST_MESSAGE]
    assert user_messages(after) == [SECOND_MESSAGE]
    assert all(datetime.fromisoformat(r["timestamp"]) >= seeded.between for r in after)
    # A time without a zone is UTC.
    naive = seeded.between.replace(tzinfo=None).isoformat()
    assert exported(sqlite_url, "--since", naive) == after
    counted = ok(sqlite_url, "events", "count", "--since", moment, "--type", "UserMessageSent")
    assert counted.stdout.strip() == "1"
    assert cli(sqlite_url, "events", "count", "--since", "yesterday").exit_code == 2


def test_csv_export_to_a_file_parses_with_the_csv_module(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    output = tmp_path / "events.csv"

    result = ok(sqlite_url, "events", "export", "--format", "csv", "--output", str(output))

    assert result.stdout == ""
    assert f"exported {stored_event_count(tmp_path)} events" in result.stderr
    with output.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    as_jsonl = exported(sqlite_url)
    assert [int(row["position"]) for row in rows] == [r["position"] for r in as_jsonl]
    assert [row["topic"] for row in rows] == [r["topic"] for r in as_jsonl]
    assert [row["timestamp"] for row in rows] == [r["timestamp"] for r in as_jsonl]
    assert [row["user_id"] for row in rows] == [r["user_id"] for r in as_jsonl]
    assert [row["text"] for row in rows if row["text"]] == [
        r["state"]["text"] for r in as_jsonl if "text" in r["state"]
    ]


def test_csv_export_to_stdout(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)

    stdout = ok(sqlite_url, "events", "export", "--format", "csv", "--type", "UserMessageSent")

    rows = list(csv.DictReader(io.StringIO(stdout.stdout)))
    assert [row["text"] for row in rows] == [FIRST_MESSAGE, SECOND_MESSAGE]


def test_console_script_exports_clean_jsonl_on_stdout(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)

    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "--database-url", sqlite_url, "events", "export"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == stored_event_count(tmp_path)
    assert user_messages(records) == [FIRST_MESSAGE, SECOND_MESSAGE]


def test_a_table_printed_into_a_pipe_cuts_no_cell(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a script reads from `companion events types | grep` holds every name whole."""
    seed(sqlite_url, tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)

    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "--database-url", sqlite_url, "events", "types"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout
    assert "companion.domain.characters:Character.RelationshipLevelChanged" in done.stdout


# -- settings and serve ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "url", "message"),
    [
        ({}, "mysql://localhost/companion", "COMPANION_DATABASE_URL must start with"),
        ({"COMPANION_ENV": "production"}, None, "production needs COMPANION_CIPHER_KEY"),
        ({"COMPANION_CIPHER_KEY": "not base64!"}, None, "COMPANION_CIPHER_KEY must be base64"),
        ({"COMPANION_PORT": "eighty"}, None, "COMPANION_PORT"),
    ],
)
def test_a_bad_setting_is_one_red_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    environment: dict[str, str],
    url: str | None,
    message: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    result = cli(url or sqlite_url, "events", "count")

    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_serve_hands_settings_host_and_port_to_the_server(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    calls: list[tuple[Settings, str, int]] = []
    server = types.ModuleType("companion.app.server")
    server.serve = lambda settings, *, host, port: calls.append((settings, host, port))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "companion.app.server", server)
    monkeypatch.setenv("COMPANION_PORT", "9001")

    ok(sqlite_url, "serve")
    ok(sqlite_url, "serve", "--host", "0.0.0.0", "--port", "8123")

    assert [(host, port) for _, host, port in calls] == [("127.0.0.1", 9001), ("0.0.0.0", 8123)]
    assert all(settings.database_url == sqlite_url for settings, _, _ in calls)


# -- PostgreSQL ------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_commands_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    seeded = seed(postgres_url, tmp_path)

    assert "conversations@v2" in ok(postgres_url, "projections", "list").stdout
    assert all(row["lag"] > 0 for row in status(postgres_url).values())
    ok(postgres_url, "projections", "run", "--once")
    after = status(postgres_url)
    assert all(row["lag"] == 0 and row["position"] == row["head"] for row in after.values())

    companion = open_companion(postgres_url, tmp_path)
    try:
        live = {p.name: p.dump(companion.views) for p in companion.read_models.all()}
        ok(postgres_url, "projections", "rebuild", "--all")
        assert {p.name: p.dump(companion.views) for p in companion.read_models.all()} == live
    finally:
        companion.close()
    assert cli(postgres_url, "projections", "rebuild", "moods").exit_code == 2

    records = exported(postgres_url)
    assert ok(postgres_url, "events", "count").stdout.strip() == str(len(records))
    assert user_messages(records) == [FIRST_MESSAGE, SECOND_MESSAGE]
    after_moment = exported(postgres_url, "--since", seeded.between.isoformat())
    assert user_messages(after_moment) == [SECOND_MESSAGE]
    output = tmp_path / "events.csv"
    ok(postgres_url, "events", "export", "--format", "csv", "--output", str(output))
    with output.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(row["position"], row["originator_id"]) for row in rows] == [
        (str(r["position"]), r["originator_id"]) for r in records
    ]
