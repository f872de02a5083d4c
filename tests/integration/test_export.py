"""Exports analysts can use: every event attributed, filtered by owner, redacted on demand."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from companion.app import event_log
from companion.app.bootstrap import bootstrap
from companion.app.event_catalogue import Attributions
from companion.app.event_log import RECORD_FIELDS, log_head, read_attributions
from companion.domain.catalogue import GEM_PACKS
from companion.domain.characters import Character, Persona
from tests.support.cli import (
    FIRST_MESSAGE,
    SECOND_MESSAGE,
    Seeded,
    cli,
    exported,
    ok,
    open_companion,
    seed,
    user_messages,
)
from tests.support.personas import HANA
from tests.support.personas import PERSONA_INPUT as PERSONA
from tests.support.settings import cheap_settings

pytestmark = pytest.mark.usefixtures("cli_environment")
HANA_MESSAGE = "Hana, the sea was loud in Kamakura tonight"
OTHER_MESSAGE = "Kenji here: my cat learned to open doors"
LATE_MESSAGE = "Mei, just signed up while an export was running"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@dataclass(frozen=True)
class Story:
    """Aiko talks to Haruto (seeded) and to Hana; Kenji, another user, talks to Hana too."""

    aiko: Seeded
    hana_id: UUID
    kenji_id: UUID
    kenji_hana_id: UUID


@pytest.fixture
def story(store_url: str, tmp_path: Path) -> Story:
    aiko = seed(store_url, tmp_path)
    companion = open_companion(store_url, tmp_path)
    try:
        hana_id, _ = companion.characters.create_character(
            user_id=aiko.user_id, persona=Persona.parse(**HANA)
        )
        companion.chat.send_message(user_id=aiko.user_id, character_id=hana_id, text=HANA_MESSAGE)
        kenji_id = companion.accounts.register(
            email="kenji@example.com",
            password="correct horse battery",
            name="Kenji",
            nickname="Ken",
        )
        kenji_hana_id, _ = companion.characters.create_character(
            user_id=kenji_id, persona=Persona.parse(**HANA)
        )
        companion.chat.send_message(
            user_id=kenji_id, character_id=kenji_hana_id, text=OTHER_MESSAGE
        )
    finally:
        companion.close()
    return Story(aiko, hana_id, kenji_id, kenji_hana_id)


def of_type(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if r["topic"].endswith(f".{name}")]


# -- attribution -------------------------------------------------------------------------------


def test_every_event_carries_the_user_and_character_of_its_stream(
    store_url: str, story: Story
) -> None:
    records = exported(store_url)
    aiko, kenji = str(story.aiko.user_id), str(story.kenji_id)
    haruto = str(story.aiko.character_id)

    assert all(r["user_id"] in (aiko, kenji) for r in records)
    (registered, _) = of_type(records, "Registered")
    assert (registered["user_id"], registered["character_id"]) == (aiko, None)
    assert of_type(records, "Claimed")[0]["user_id"] == aiko
    created = of_type(records, "Created")
    assert [(r["user_id"], r["character_id"]) for r in created] == [
        (aiko, haruto),
        (aiko, str(story.hana_id)),
        (kenji, str(story.kenji_hana_id)),
    ]
    sent = of_type(records, "UserMessageSent") + of_type(records, "CompanionReplied")
    by_text = {r["state"]["text"]: (r["user_id"], r["character_id"]) for r in sent}
    assert by_text[FIRST_MESSAGE] == by_text[SECOND_MESSAGE] == (aiko, haruto)
    assert by_text[HANA_MESSAGE] == (aiko, str(story.hana_id))
    assert by_text[OTHER_MESSAGE] == (kenji, str(story.kenji_hana_id))


def test_messages_after_since_still_carry_their_user_and_character(
    store_url: str, story: Story
) -> None:
    conversation = of_type(exported(store_url), "Started")[0]["originator_id"]

    window = exported(store_url, "--since", story.aiko.between.isoformat())

    # The conversation started before the window, yet its messages are attributed.
    assert conversation not in {r["originator_id"] for r in of_type(window, "Started")}
    second = next(
        r for r in of_type(window, "UserMessageSent") if r["state"]["text"] == SECOND_MESSAGE
    )
    assert second["user_id"] == str(story.aiko.user_id)
    assert second["character_id"] == str(story.aiko.character_id)
    replies = of_type(window, "CompanionReplied")
    assert replies
    assert all(r["user_id"] and r["character_id"] for r in replies)


def test_a_conversation_started_while_exporting_waits_for_the_next_export(
    store_url: str, story: Story, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    newcomer = open_companion(store_url, tmp_path)

    def attributions_then_a_newcomer(application: Any, *, head: int) -> Attributions:
        attributions = read_attributions(application, head=head)
        mei = newcomer.accounts.register(
            email="mei@example.com", password="correct horse battery", name="Mei", nickname="M"
        )
        hana, _ = newcomer.characters.create_character(user_id=mei, persona=Persona.parse(**HANA))
        newcomer.chat.send_message(user_id=mei, character_id=hana, text=LATE_MESSAGE)
        return attributions

    try:
        with monkeypatch.context() as patch:
            patch.setattr(event_log, "read_attributions", attributions_then_a_newcomer)
            during = exported(store_url)
    finally:
        newcomer.close()
    after = exported(store_url)

    assert all(r["user_id"] for r in during)
    assert LATE_MESSAGE not in user_messages(during)
    assert [r["position"] for r in during] == [r["position"] for r in after[: len(during)]]
    (late,) = [r for r in of_type(after, "UserMessageSent") if r["state"]["text"] == LATE_MESSAGE]
    assert late["user_id"]
    assert late["character_id"]


def test_user_filter_takes_an_email_or_an_id(store_url: str, story: Story) -> None:
    by_email = exported(store_url, "--user", "AIKO@example.com")
    by_id = exported(store_url, "--user", str(story.aiko.user_id))

    assert by_email == by_id
    assert {r["user_id"] for r in by_email} == {str(story.aiko.user_id)}
    assert sorted(user_messages(by_email)) == sorted([FIRST_MESSAGE, SECOND_MESSAGE, HANA_MESSAGE])
    assert len(of_type(by_email, "Registered")) == len(of_type(by_email, "Claimed")) == 1
    assert user_messages(exported(store_url, "--user", "kenji@example.com")) == [OTHER_MESSAGE]


@pytest.mark.parametrize("who", ["nobody@example.com", "7f0c3c1e-5b7e-4a57-9a0e-6e1c0b2f6d21"])
def test_an_unknown_user_is_an_error_naming_them(store_url: str, story: Story, who: str) -> None:
    result = cli(store_url, "events", "export", "--user", who)

    assert result.exit_code == 1
    assert who in result.stderr
    assert result.stdout == ""


def test_count_takes_the_owner_filters_of_export(store_url: str, story: Story) -> None:
    def counted(*args: str) -> int:
        return int(ok(store_url, "events", "count", *args).stdout)

    for owner in (
        ["--user", "aiko@example.com"],
        ["--user", str(story.kenji_id)],
        ["--character", str(story.hana_id)],
        ["--user", "aiko@example.com", "--character", str(story.kenji_hana_id)],
    ):
        assert counted(*owner) == len(exported(store_url, *owner)), owner
    assert counted("--user", "kenji@example.com", "--type", "UserMessageSent") == 1
    assert counted("--user", "aiko@example.com") < counted()
    unknown = cli(store_url, "events", "count", "--user", "nobody@example.com")
    assert unknown.exit_code == 1
    assert "nobody@example.com" in unknown.stderr


def test_character_filter_keeps_the_character_and_its_conversations(
    store_url: str, story: Story
) -> None:
    records = exported(store_url, "--character", str(story.hana_id))

    assert {r["character_id"] for r in records} == {str(story.hana_id)}
    assert [r["topic"].rpartition(":")[2] for r in records] == [
        "Character.Created",
        "Conversation.Started",
        "Conversation.UserMessageSent",
        "Conversation.CompanionReplied",
        "EmotionState.Started",
        "EmotionState.MoodChanged",
    ]
    assert user_messages(records) == [HANA_MESSAGE]
    assert cli(store_url, "events", "export", "--character", str(story.kenji_id)).exit_code == 1


# -- redaction ---------------------------------------------------------------------------------


def plaintexts(records: list[dict[str, Any]]) -> set[str]:
    """Every personal value and every real id the unredacted export holds."""
    found: set[str] = {"aiko@example.com", "kenji@example.com", "Aiko", "Kenji"}
    for persona in (PERSONA, HANA):
        found |= {persona["name"], persona["nickname"], persona["occupation"], *persona["hobbies"]}
    found.add(HANA["backstory"])
    for record in records:
        found |= {str(record[k]) for k in ("originator_id", "user_id", "character_id") if record[k]}
        state = record["state"]
        for key in ("text", "message_id", "in_reply_to", "owner_id", "user_id", "character_id"):
            if state.get(key):
                found.add(str(state[key]))
    return found


def test_redacted_export_holds_no_personal_value_and_no_real_id(
    store_url: str, story: Story
) -> None:
    plain = exported(store_url)
    output = ok(store_url, "events", "export", "--redact").stdout
    redacted = [json.loads(line) for line in output.splitlines()]

    secrets = plaintexts(plain)
    assert len(secrets) > 30
    assert [s for s in secrets if s in output] == []
    assert "password_hash" not in output
    # What analysts need stays.
    assert [r["position"] for r in redacted] == [r["position"] for r in plain]
    assert [r["timestamp"] for r in redacted] == [r["timestamp"] for r in plain]
    texts = [
        (p["state"]["text"], r["state"])
        for p, r in zip(plain, redacted, strict=True)
        if "text" in p["state"]
    ]
    assert texts
    assert all(state["text_chars"] == len(text) for text, state in texts)
    created = of_type(redacted, "Created")[1]["state"]["persona"]
    assert created == {"gender": "girlfriend", "age": 24, "personality": HANA["personality"]}


def test_pseudonyms_hold_within_an_export_and_change_across_exports(
    store_url: str, story: Story
) -> None:
    plain = exported(store_url)
    first = exported(store_url, "--redact")
    second = exported(store_url, "--redact")

    def pseudonyms(redacted: list[dict[str, Any]]) -> dict[str, str]:
        """Real id → pseudonym, checked to be a function and one-to-one."""
        mapping: dict[str, str] = {}
        for p, r in zip(plain, redacted, strict=True):
            pairs = [(p[k], r[k]) for k in ("originator_id", "user_id", "character_id")]
            pairs += [
                (p["state"][k], r["state"][k])
                for k in ("message_id", "in_reply_to")
                if k in p["state"]
            ]
            for real, pseudonym in pairs:
                if real is None:
                    assert pseudonym is None
                    continue
                assert UUID(pseudonym) != UUID(real)
                assert mapping.setdefault(real, pseudonym) == pseudonym, real
        assert len(set(mapping.values())) == len(mapping)
        return mapping

    one, two = pseudonyms(first), pseudonyms(second)
    assert one.keys() == two.keys()
    assert set(one.values()).isdisjoint(two.values())
    # A user's pseudonym is the same on their account and on their messages.
    aiko = one[str(story.aiko.user_id)]
    assert {r["user_id"] for r in first if r["state"].get("text_chars")} >= {aiko}


def test_a_reason_typed_for_a_relationship_change_leaves_only_as_its_length(
    store_url: str, story: Story, tmp_path: Path
) -> None:
    reason = "marker-4f1c: she said the tomatoes reminded her of her late grandmother"
    companion = open_companion(store_url, tmp_path)
    try:
        application = companion.application
        hana: Character = application.repository.get(story.hana_id)
        hana.change_relationship_level(3, reason=reason)
        application.save(hana)
    finally:
        companion.close()

    jsonl = ok(store_url, "events", "export", "--redact").stdout
    as_csv = ok(store_url, "events", "export", "--redact", "--format", "csv").stdout

    assert "marker-4f1c" in ok(store_url, "events", "export").stdout
    assert "marker-4f1c" not in jsonl
    assert "marker-4f1c" not in as_csv
    (changed,) = of_type(
        [json.loads(line) for line in jsonl.splitlines()], "RelationshipLevelChanged"
    )
    assert changed["state"] == {"before": 1, "after": 3, "reason_chars": len(reason)}
    (row,) = [r for r in csv.DictReader(io.StringIO(as_csv)) if r["reason_chars"]]
    assert row["reason_chars"] == str(len(reason))
    assert row["other"] == ""


# -- CSV ---------------------------------------------------------------------------------------


def csv_export(url: str, *args: str) -> tuple[list[str], list[dict[str, str]]]:
    stdout = ok(url, "events", "export", "--format", "csv", *args).stdout
    reader = csv.DictReader(io.StringIO(stdout))
    rows = list(reader)
    return list(reader.fieldnames or ()), rows


def test_csv_has_a_column_per_state_field_of_the_chosen_types(store_url: str, story: Story) -> None:
    header, rows = csv_export(store_url, "--type", "UserMessageSent", "--type", "CompanionReplied")

    assert header == [
        *RECORD_FIELDS,
        "message_id",
        "text",
        "client_message_id",
        "in_reply_to",
        "model",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
        "fallback",
        "first_token_ms",
        "provenance",
        "other",
    ]
    sent = [row for row in rows if row["topic"].endswith(".UserMessageSent")]
    assert [row["text"] for row in sent] == [
        FIRST_MESSAGE,
        SECOND_MESSAGE,
        HANA_MESSAGE,
        OTHER_MESSAGE,
    ]
    assert all(row["in_reply_to"] == "" and row["user_id"] for row in sent)
    replies = [row for row in rows if row["topic"].endswith(".CompanionReplied")]
    assert all(
        int(row["latency_ms"]) >= 0 and row["fallback"] in ("true", "false") for row in replies
    )


def test_csv_of_the_whole_log_nests_values_as_json(store_url: str, story: Story) -> None:
    header, rows = csv_export(store_url)

    assert "persona" in header
    assert "state_user_id" in header
    assert "email" in header
    created = next(row for row in rows if row["topic"].endswith(":Character.Created"))
    assert json.loads(created["persona"])["name"] == PERSONA["name"]
    assert created["owner_id"] == created["user_id"] == str(story.aiko.user_id)


def test_redacted_csv_has_lengths_instead_of_texts(store_url: str, story: Story) -> None:
    header, rows = csv_export(store_url, "--redact")

    assert "text_chars" in header
    assert "changed_fields" in header
    assert not {"text", "email", "name", "nickname", "password_hash"} & set(header)
    lengths = sorted(int(row["text_chars"]) for row in rows if row["text_chars"])
    assert len(FIRST_MESSAGE) in lengths
    assert len(OTHER_MESSAGE) in lengths


def test_payments_and_subscriptions_are_attributed_to_their_user(tmp_path: Path) -> None:
    companion = bootstrap(
        cheap_settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp_path}/pay.db",
            data_dir=tmp_path,
        )
    )
    try:
        app = companion.application
        user_id = companion.accounts.register(
            email="pay@example.com", password="0123456789ab", name="P", nickname="P"
        )
        companion.payments.checkout(user_id=user_id, pack_id=GEM_PACKS[0].pack_id)
        companion.payments.subscribe(user_id=user_id, tier="premium")
        attributions = read_attributions(app, head=log_head(app))
        streams = {
            n.originator_id
            for n in app.recorder.select_notifications(1, limit=10_000)
            if n.topic.rpartition(":")[2].split(".")[0] in ("Payment", "Subscription")
        }
        assert streams
        assert {attributions.of(stream).user_id for stream in streams} == {user_id}
    finally:
        companion.close()
