"""A redacted export keeps every category and no free text, in real and in synthetic events."""

from __future__ import annotations

import dataclasses
import itertools
import json
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Notification

from companion.app.event_catalogue import Attributions, EventType, catalogue
from companion.app.event_log import Export, to_json
from companion.app.redaction import CATEGORY_FIELDS, Redaction
from tests.support.cli import FIRST_MESSAGE, SECOND_MESSAGE, exported, ok, seed

pytestmark = pytest.mark.usefixtures("cli_environment")
EFFECT = {"type": "expression_set", "parameters": {"expressions": ["wink", "pout"]}}


def of_type(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if r["topic"].endswith(f".{name}")]


def test_a_redacted_chat_turn_keeps_its_categories_and_leaves_no_text(
    sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, tmp_path)
    plain, redacted = exported(sqlite_url), exported(sqlite_url, "--redact")
    output = json.dumps(redacted, ensure_ascii=False)

    moods = [
        (p["state"], r["state"])
        for p, r in zip(plain, redacted, strict=True)
        if p["topic"].endswith(".MoodChanged")
    ]
    assert moods
    for mood, kept in moods:
        assert kept["cause"] == mood["cause"]
        assert kept["expression"] == mood["expression"]
        assert [f["type"] for f in kept["factors"]] == [f["type"] for f in mood["factors"]]
        # A factor's description is words, however they were made: its length only.
        assert [f["description_chars"] for f in kept["factors"]] == [
            len(f["description"]) for f in mood["factors"]
        ]
    replies = of_type(plain, "CompanionReplied")
    assert {r["state"]["model"] for r in of_type(redacted, "CompanionReplied")} == {
        r["state"]["model"] for r in replies
    }
    texts = [FIRST_MESSAGE, SECOND_MESSAGE, *(r["state"]["text"] for r in replies)]
    assert [t for t in texts if t in output] == []
    assert "cause_chars" not in output
    assert "type_chars" not in output


def test_a_redacted_catalogue_item_keeps_its_slug_category_rarity_and_effects(
    sqlite_url: str,
) -> None:
    ok(
        sqlite_url,
        *("catalogue", "add", "winter-smile", "--name", "Aiko's secret smile"),
        *("--category", "expressions", "--rarity", "epic", "--gems", "120"),
        *("--effect", json.dumps(EFFECT)),
    )

    (listed,) = of_type(exported(sqlite_url, "--redact"), "Listed")

    state = listed["state"]
    assert (state["slug"], state["category"], state["rarity"]) == (
        "winter-smile",
        "expressions",
        "epic",
    )
    assert state["effects"][0]["type"] == "expression_set"
    assert state["effects"][0]["parameters"] == {"expressions": ["wink", "pout"]}
    assert "secret smile" not in json.dumps(listed)


def test_no_category_is_a_field_that_holds_what_someone_wrote() -> None:
    """Names of free text in events, and the categories' names, never meet."""
    written = {"text", "transcript", "value", "description", "title", "reason", "detail"}
    written |= {"name", "nickname", "backstory", "occupation", "hobbies", "email", "key", "tags"}
    assert written & CATEGORY_FIELDS == set()


class Markers:
    """Unique strings, each remembered with the name of the field it was put in."""

    def __init__(self) -> None:
        self.field_of: dict[str, str] = {}
        self._numbers = itertools.count()

    def __call__(self, field: str) -> str:
        marker = f"marker-{next(self._numbers):04d}-{field}"
        self.field_of[marker] = field
        return marker

    def nested(self) -> dict[str, Any]:
        """A free-form value, as a future aggregate's dict field might hold."""
        return {
            "gender": self("gender"),
            "fact": self("fact"),
            "deeper": {"note": self("note"), "model": self("model")},
            "items": [self("items"), self("items")],
        }


def synthetic(hint: Any, field: str, markers: Markers) -> Any:
    """A value of the declared type, every string in it a marker."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return markers(field)
    if hint is UUID:
        return uuid4()
    if hint in (int, bool, float):
        return hint(1)
    if hint is datetime:
        return datetime.now(UTC)
    if origin is list:
        return [synthetic(args[0], field, markers)]
    if origin in (typing.Union, types.UnionType):
        return synthetic(next(a for a in args if a is not type(None)), field, markers)
    if origin is dict:
        return {"timezone": markers("timezone"), **markers.nested()}
    raise AssertionError(f"no synthetic value for {field}: {hint}; teach this test the type")


def synthetic_event(event_type: EventType, markers: Markers) -> Any:
    hints = typing.get_type_hints(event_type.event_class)
    values = {
        f.name: synthetic(hints[f.name], f.name, markers)
        for f in dataclasses.fields(event_type.event_class)
        if f.name not in ("originator_id", "originator_version", "timestamp")
    }
    return event_type.event_class(
        originator_id=uuid4(), originator_version=1, timestamp=datetime.now(UTC), **values
    )


@pytest.mark.parametrize("event_type", catalogue(), ids=lambda t: t.qualname)
def test_no_string_of_any_event_survives_redaction_unless_its_field_is_a_category(
    event_type: EventType,
) -> None:
    markers = Markers()
    event = synthetic_event(event_type, markers)
    notification = Notification(uuid4(), 1, event_type.topic, b"", 1)
    redaction = Redaction()

    record = Export(Attributions(), redaction).record(notification, event)

    output = to_json(record)
    survivors = {m: f for m, f in markers.field_of.items() if m in output}
    assert {m: f for m, f in survivors.items() if f not in CATEGORY_FIELDS} == {}
    # The CSV columns of the type are the fields of its redacted events.
    assert set(record["state"]) == set(redaction.columns(event_type))


def test_a_memory_vector_leaves_a_redacted_export_as_its_dimension_count() -> None:
    """A vector is made from personal text: not one of its numbers leaves."""
    (event_type,) = [t for t in catalogue() if t.qualname == "MemoryBook.MemoryEmbedded"]
    embedded: Any = event_type.event_class
    event = embedded(
        originator_id=uuid4(),
        originator_version=3,
        timestamp=datetime.now(UTC),
        memory_id=uuid4(),
        model="embeddings:text-embedding-3-small",
        vector=[0.125, -0.5, 0.75],
        at=datetime.now(UTC),
    )
    notification = Notification(uuid4(), 1, event_type.topic, b"", 1)
    redaction = Redaction()

    state = Export(Attributions(), redaction).record(notification, event)["state"]

    assert state["vector_dimensions"] == 3
    assert "vector" not in state
    assert state["model"] == "embeddings:text-embedding-3-small"
    assert "0.125" not in to_json(state)
    assert set(state) == set(redaction.columns(event_type))
