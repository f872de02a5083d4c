"""The Parquet export: the JSONL export's events, as columns, by day and type, in bounded memory."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.dataset as arrow_dataset
import pyarrow.parquet as pq
import pytest

from companion.app import event_log
from companion.app.analytics_export import MARKER, SCHEMA, PartitionedWriter, dataset
from companion.app.cli import parquet_export
from companion.app.event_catalogue import catalogue
from companion.domain.characters import Persona
from tests.support.cli import (
    FIRST_MESSAGE,
    SECOND_MESSAGE,
    Seeded,
    cli,
    exported,
    ok,
    open_companion,
    seed,
)
from tests.support.personas import HANA

pytestmark = pytest.mark.usefixtures("cli_environment")
# Quotes, a line break and an emoji: a text whose stored JSON has escapes.
KENJI_MESSAGE = 'Kenji here:\n my cat said "open the door" ✨'
QUALNAMES = {t.topic: t.qualname for t in catalogue()}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@dataclass(frozen=True)
class Story:
    """Aiko talks to Haruto (seeded); Kenji talks to Hana and asks for another reply."""

    aiko: Seeded
    kenji_id: UUID


def tell(url: str, tmp_path: Path) -> Story:
    aiko = seed(url, tmp_path)
    companion = open_companion(url, tmp_path)
    try:
        kenji_id = companion.accounts.register(
            email="kenji@example.com",
            password="correct horse battery",
            name="Kenji",
            nickname="Ken",
        )
        hana_id, _ = companion.characters.create_character(
            user_id=kenji_id, persona=Persona.parse(**HANA)
        )
        turn = companion.chat.send_message(
            user_id=kenji_id, character_id=hana_id, text=KENJI_MESSAGE
        )
        companion.alternatives.regenerate_reply(
            user_id=kenji_id, character_id=hana_id, message_id=turn.reply_message_id
        )
    finally:
        companion.close()
    return Story(aiko, kenji_id)


@pytest.fixture
def story(store_url: str, tmp_path: Path) -> Story:
    return tell(store_url, tmp_path)


def parquet(url: str, folder: Path, *args: str) -> list[dict[str, Any]]:
    """`events export --format parquet --out FOLDER ARGS…`, read back in the order of the log."""
    ok(url, "events", "export", "--format", "parquet", "--out", str(folder), *args)
    return read_back(folder)


def read_back(folder: Path) -> list[dict[str, Any]]:
    if not any(folder.rglob("*.parquet")):
        return []
    table = arrow_dataset.dataset(folder, format="parquet", partitioning="hive").to_table()
    return sorted(table.to_pylist(), key=lambda row: row["position"])


def as_record(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row in the shape of a JSONL record, to compare the two exports."""
    time: datetime = row["time"]
    return {
        "position": row["position"],
        "type": row["type"],
        "originator_id": row["stream_id"],
        "originator_version": row["version"],
        "timestamp": time.isoformat(),
        "user_id": row["user_id"],
        "character_id": row["character_id"],
        "state": json.loads(row["state"]),
    }


def as_expected(record: dict[str, Any]) -> dict[str, Any]:
    expected = {k: v for k, v in record.items() if k != "topic"}
    return {**expected, "type": QUALNAMES[record["topic"]]}


@pytest.mark.parametrize("processes", [1, 3], ids=["one-process", "three-processes"])
@pytest.mark.parametrize("cipher", [False, True], ids=["clear", "encrypted"])
def test_every_event_is_exported_as_the_jsonl_export_writes_it(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cipher: bool, processes: int
) -> None:
    # A log this short is shared between processes only when told to.
    monkeypatch.setattr(parquet_export, "PARALLEL_FROM", 0 if processes > 1 else 10**9)
    monkeypatch.setattr(parquet_export, "PROCESSES", processes)
    if cipher:
        monkeypatch.setenv("COMPANION_CIPHER_KEY", base64.b64encode(os.urandom(32)).decode())
        monkeypatch.setenv("COMPANION_COMPRESS_EVENTS", "true")
    tell(store_url, tmp_path)

    rows = parquet(store_url, tmp_path / "export")
    records = exported(store_url)

    assert [as_record(row) for row in rows] == [as_expected(r) for r in records]
    writers = {f.name.split("-")[1] for f in (tmp_path / "export").rglob("*.parquet")}
    assert writers == ({"0", "1", "2"} if processes > 1 else {"0.parquet"})
    assert {r["type"] for r in rows} >= {
        "User.Registered",
        "Conversation.UserMessageSent",
        "Conversation.CompanionReplied",
        "Conversation.ReplyRegenerated",
        "EmotionState.MoodChanged",
    }
    assert all(row["event_id"] == f"{row['stream_id']}:{row['version']}" for row in rows)
    texts = {json.loads(r["state"])["text"]: r["text_chars"] for r in rows if r["text_chars"]}
    assert texts[KENJI_MESSAGE] == len(KENJI_MESSAGE)
    assert texts[FIRST_MESSAGE] == len(FIRST_MESSAGE)
    registered = next(r for r in rows if r["type"] == "User.Registered")
    assert json.loads(registered["state"])["password_hash"] == "[redacted]"


def test_a_redacted_export_redacts_every_event_as_the_jsonl_export_does(
    store_url: str, story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One pseudonym key for both exports, so that their pseudonyms can be compared.
    monkeypatch.setattr(secrets, "token_bytes", lambda n: b"k" * n)

    rows = parquet(store_url, tmp_path / "export", "--redact")
    records = exported(store_url, "--redact")

    assert [as_record(row) for row in rows] == [as_expected(r) for r in records]
    everything = json.dumps(rows, default=str)
    for secret in (FIRST_MESSAGE, "aiko@example.com", str(story.aiko.user_id), "password_hash"):
        assert secret not in everything
    assert "Kenji here" not in everything


def test_the_processes_of_one_redacted_export_give_a_user_one_pseudonym(
    store_url: str, story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet_export, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parquet_export, "PROCESSES", 2)

    rows = parquet(store_url, tmp_path / "export", "--redact")
    records = exported(store_url)

    assert [r["position"] for r in rows] == [r["position"] for r in records]
    pseudonyms: dict[str, set[str]] = {}
    for row, record in zip(rows, records, strict=True):
        if record["user_id"] is not None:
            pseudonyms.setdefault(record["user_id"], set()).add(row["user_id"])
    assert len(pseudonyms) == 2
    assert all(len(names) == 1 for names in pseudonyms.values())
    assert set().union(*pseudonyms.values()).isdisjoint(pseudonyms)
    writers = {f.name.split("-")[1] for f in (tmp_path / "export").rglob("*.parquet")}
    assert writers == {"0", "1"}


def test_the_export_is_partitioned_by_day_and_type(
    store_url: str, story: Story, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    rows = parquet(store_url, folder)

    files = sorted(folder.rglob("*.parquet"))
    assert files
    for file in files:
        day, type_ = file.parent.parent.name, file.parent.name
        table = pq.read_table(file, partitioning=None)
        assert "type" not in table.column_names
        assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
        in_file = set(table.column("position").to_pylist())
        here = [r for r in rows if r["position"] in in_file]
        assert {f"day={r['time'].date().isoformat()}" for r in here} == {day}
        assert {f"type={r['type']}" for r in here} == {type_}
        assert file.name.startswith("part-")
    assert {r["type"] for r in rows} == {f.parent.name.removeprefix("type=") for f in files}
    marker = json.loads((folder / MARKER).read_text())
    assert marker["events"] == len(rows)
    assert marker["redacted"] is False


def test_the_filters_choose_the_events_as_for_the_jsonl_export(
    store_url: str, story: Story, tmp_path: Path
) -> None:
    rows = parquet(
        store_url, tmp_path / "export", "--type", "UserMessageSent", "--user", "aiko@example.com"
    )
    since = parquet(store_url, tmp_path / "since", "--since", story.aiko.between.isoformat())

    assert [json.loads(r["state"])["text"] for r in rows] == [FIRST_MESSAGE, SECOND_MESSAGE]
    assert {r["user_id"] for r in rows} == {str(story.aiko.user_id)}
    jsonl_since = exported(store_url, "--since", story.aiko.between.isoformat())
    assert [r["position"] for r in since] == [r["position"] for r in jsonl_since]


def test_the_export_reads_up_to_the_head_taken_when_it_starts(
    store_url: str, story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    latecomer = open_companion(store_url, tmp_path)
    read_attributions = event_log.read_attributions

    def attributions_then_a_newcomer(application: Any, *, head: int) -> Any:
        attributions = read_attributions(application, head=head)
        latecomer.accounts.register(
            email="mei@example.com", password="correct horse battery", name="Mei", nickname="M"
        )
        return attributions

    try:
        with monkeypatch.context() as patch:
            patch.setattr(event_log, "read_attributions", attributions_then_a_newcomer)
            during = parquet(store_url, tmp_path / "during")
    finally:
        latecomer.close()
    after = parquet(store_url, tmp_path / "after")

    assert len(after) == len(during) + 2  # Mei's registration and her email's claim
    assert [r["position"] for r in during] == [r["position"] for r in after[: len(during)]]


def test_a_second_export_into_the_same_folder_replaces_the_first(
    store_url: str, story: Story, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    everything = parquet(store_url, folder)
    messages = parquet(store_url, folder, "--type", "UserMessageSent")

    assert len(messages) == 3 < len(everything)
    assert {r["type"] for r in messages} == {"Conversation.UserMessageSent"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export")] == []


def test_a_folder_that_holds_other_files_is_refused_and_left_as_it_was(
    store_url: str, story: Story, tmp_path: Path
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")

    result = cli(store_url, "events", "export", "--format", "parquet", "--out", str(folder))

    assert result.exit_code == 2
    assert "not an export" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".mine")] == []


@pytest.mark.parametrize(
    "args",
    [["--format", "parquet"], ["--format", "jsonl", "--out", "x"], ["--out", "x"]],
    ids=["parquet-without-out", "out-with-jsonl", "out-alone"],
)
def test_out_and_parquet_go_together(sqlite_url: str, args: list[str]) -> None:
    result = cli(sqlite_url, "events", "export", *args)

    assert result.exit_code == 2
    assert "--out" in result.stderr


def test_a_long_log_is_written_in_pages_and_row_groups_of_bounded_size(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tell(sqlite_url, tmp_path)
    seen: list[int] = []
    read_pages = parquet_export.read_pages

    def counted(*args: Any, **kwargs: Any) -> Any:
        for rows in read_pages(*args, **kwargs):
            seen.append(len(rows))
            yield rows

    monkeypatch.setattr(parquet_export, "PAGE_ROWS", 4)
    monkeypatch.setattr(parquet_export, "read_pages", counted)
    monkeypatch.setattr(dataset, "ROW_GROUP_ROWS", 2)
    monkeypatch.setattr(dataset, "BUFFERED_ROWS", 3)
    monkeypatch.setattr(dataset, "OPEN_FILES", 2)

    rows = parquet(sqlite_url, tmp_path / "export")

    assert max(seen) == 4
    assert sum(seen) == len(rows) == len(exported(sqlite_url))
    for file in (tmp_path / "export").rglob("*.parquet"):
        metadata = pq.ParquetFile(file).metadata
        assert all(metadata.row_group(i).num_rows <= 2 for i in range(metadata.num_row_groups))


def test_the_writer_keeps_few_rows_and_few_files_open(tmp_path: Path) -> None:
    writer = PartitionedWriter(tmp_path, SCHEMA, row_group_rows=3, buffered_rows=4, open_files=2)
    positions = iter(range(1, 1000))

    def page(types: list[str]) -> pa.Table:
        rows = [
            {
                "position": next(positions),
                "event_id": "s:1",
                "stream_id": "s",
                "version": 1,
                "type": kind,
                "time": datetime.fromisoformat("2026-12-08T10:00:00+00:00"),
                "user_id": None,
                "character_id": None,
                "text_chars": None,
                "state": "{}",
            }
            for kind in types
        ]
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    for kinds in (["A.X", "B.Y"], ["C.Z", "A.X"], ["A.X", "B.Y", "C.Z"], ["C.Z"] * 5):
        writer.add(page(kinds))
        assert writer.buffered <= 4
        assert writer.open_writers <= 2
    writer.close()

    tables = [pq.read_table(f, partitioning=None) for f in tmp_path.rglob("*.parquet")]
    assert sorted(p for t in tables for p in t.column("position").to_pylist()) == list(range(1, 13))
    assert all(
        pq.ParquetFile(f).metadata.row_group(i).num_rows <= 3
        for f in tmp_path.rglob("*.parquet")
        for i in range(pq.ParquetFile(f).metadata.num_row_groups)
    )
    # A partition whose file was closed to keep two open starts another part.
    assert len(list((tmp_path / "day=2026-12-08" / "type=A.X").iterdir())) >= 2
