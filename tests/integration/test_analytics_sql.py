"""`analytics sql`: an analyst's questions in SQL, over an export or straight from the store."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from companion.domain.characters import Persona
from tests.support.cli import cli, exported, ok, open_companion, seed
from tests.support.personas import HANA

pytestmark = pytest.mark.usefixtures("cli_environment")

# The README's three examples, word for word.
MESSAGES_PER_USER_PER_DAY = (
    "SELECT user_id, CAST(time AS DATE) AS day, count(*) FROM events"
    " WHERE type = 'Conversation.UserMessageSent' GROUP BY ALL ORDER BY ALL"
)
HOW_MOOD_MOVED = (
    "SELECT character_id, count(*) AS changes,"
    " arg_min(CAST(state->>'before' AS INTEGER), position) AS first_mood,"
    " arg_max(CAST(state->>'after' AS INTEGER), position) AS last_mood"
    " FROM events WHERE type = 'EmotionState.MoodChanged' GROUP BY ALL ORDER BY ALL"
)
REPLIES_BY_MODEL = (
    "SELECT state->>'model' AS model, count(*) AS replies,"
    " round(avg(text_chars), 1) AS average_chars"
    " FROM events WHERE type = 'Conversation.CompanionReplied' GROUP BY ALL ORDER BY ALL"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def story(store_url: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Aiko's two messages to Haruto (seeded), Kenji's one to Hana: the log as JSONL records."""
    seed(store_url, tmp_path)
    companion = open_companion(store_url, tmp_path)
    try:
        kenji_id = companion.accounts.register(
            email="kenji@example.com", password="correct horse battery", name="Kenji", nickname="K"
        )
        hana_id, _ = companion.characters.create_character(
            user_id=kenji_id, persona=Persona.parse(**HANA)
        )
        companion.chat.send_message(user_id=kenji_id, character_id=hana_id, text="I miss you!")
    finally:
        companion.close()
    return exported(store_url)


def analytics(url: str, *args: str) -> Result:
    """`companion --database-url URL analytics sql ARGS…`, in-process."""
    return cli(url, "analytics", "sql", *args)


def answer(url: str, query: str, *args: str) -> list[dict[str, Any]]:
    result = analytics(url, query, "--format", "json", *args)
    assert result.exit_code == 0, (result.output, result.exception)
    answers: list[dict[str, Any]] = json.loads(result.stdout)
    return answers


def of_type(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if r["topic"].endswith(f".{name}")]


@pytest.mark.parametrize("source", ["store", "export"])
def test_messages_per_user_per_day(
    store_url: str, story: list[dict[str, Any]], tmp_path: Path, source: str
) -> None:
    args: list[str] = []
    if source == "export":
        ok(store_url, "events", "export", "--format", "parquet", "--out", str(tmp_path / "pq"))
        args = ["--parquet", str(tmp_path / "pq")]

    answers = answer(store_url, MESSAGES_PER_USER_PER_DAY, *args)

    sent = of_type(story, "UserMessageSent")
    expected = Counter((r["user_id"], r["timestamp"][:10]) for r in sent)
    assert answers == [
        {"user_id": user, "day": day, "count_star()": count}
        for (user, day), count in sorted(expected.items())
    ]
    assert sorted(expected.values()) == [1, 2]


def test_every_event_is_a_row_with_its_time_in_utc_and_its_state_as_json(
    store_url: str, story: list[dict[str, Any]]
) -> None:
    answers = answer(
        store_url,
        "SELECT position, time, day, type, typeof(state) AS state FROM events ORDER BY position",
    )

    assert answers == [
        {
            "position": r["position"],
            "time": r["timestamp"],
            "day": r["timestamp"][:10],
            "type": r["topic"].rpartition(":")[2],
            "state": "JSON",
        }
        for r in story
    ]


def test_how_mood_moved(store_url: str, story: list[dict[str, Any]]) -> None:
    answers = answer(store_url, HOW_MOOD_MOVED)

    changes = of_type(story, "MoodChanged")
    expected = []
    for character in sorted({r["character_id"] for r in changes}):
        mine = [r for r in changes if r["character_id"] == character]
        expected.append(
            {
                "character_id": character,
                "changes": len(mine),
                "first_mood": mine[0]["state"]["before"],
                "last_mood": mine[-1]["state"]["after"],
            }
        )
    assert answers == expected
    assert [a["changes"] for a in answers] in ([2, 1], [1, 2])


def test_replies_by_model(store_url: str, story: list[dict[str, Any]]) -> None:
    answers = answer(store_url, REPLIES_BY_MODEL)

    replies = of_type(story, "CompanionReplied")
    models = sorted({r["state"]["model"] for r in replies})
    assert answers == [
        {
            "model": model,
            "replies": len(mine := [r for r in replies if r["state"]["model"] == model]),
            "average_chars": round(sum(len(r["state"]["text"]) for r in mine) / len(mine), 1),
        }
        for model in models
    ]
    assert sum(a["replies"] for a in answers) == 3


def test_the_answer_comes_as_a_table_or_csv(store_url: str, story: list[dict[str, Any]]) -> None:
    query = "SELECT type, count(*) AS n FROM events GROUP BY ALL ORDER BY ALL"

    shown = analytics(store_url, query)
    rows = list(csv.DictReader(io.StringIO(analytics(store_url, query, "--format", "csv").stdout)))

    assert shown.exit_code == 0
    assert "Conversation.UserMessageSent" in shown.stdout
    counts = Counter(r["topic"].rpartition(":")[2] for r in story)
    assert {r["type"]: int(r["n"]) for r in rows} == dict(counts)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("SELEC 1", "Parser Error"),
        ("SELECT nothing FROM events", "Binder Error"),
        ("SELECT * FROM chats", "Catalog Error"),
    ],
    ids=["syntax", "unknown-column", "unknown-table"],
)
def test_a_mistake_in_the_sql_is_one_line_and_a_usage_error(
    sqlite_url: str, tmp_path: Path, query: str, says: str
) -> None:
    seed(sqlite_url, tmp_path)
    folder = tmp_path / "pq"
    ok(sqlite_url, "events", "export", "--format", "parquet", "--out", str(folder))

    result = analytics(sqlite_url, query, "--parquet", str(folder))

    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert says in line
    assert result.stdout == ""


def test_a_store_without_events_answers_with_no_rows(sqlite_url: str, tmp_path: Path) -> None:
    open_companion(sqlite_url, tmp_path).close()

    assert answer(sqlite_url, "SELECT count(*) AS n FROM events") == [{"n": 0}]
    assert answer(sqlite_url, MESSAGES_PER_USER_PER_DAY) == []
