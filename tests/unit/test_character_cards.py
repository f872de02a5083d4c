"""Character cards (V2, V3, PNG) read, mapped onto a persona and written back, by the specs."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.domain.card_fields import Lore, knowledge_for
from companion.domain.card_persona import card_of, character_age, kept_of, persona_from_card
from companion.domain.card_reading import (
    LOWERS,
    RAISES,
    gender_of,
    personality_weights,
    stated_ages,
)
from companion.domain.character_cards import (
    V2,
    V3,
    CardTooLarge,
    CharacterCard,
    UnreadableCard,
    card_document,
    card_image,
    card_png,
    parse_card,
    parse_card_json,
    parse_card_png,
)
from companion.domain.characters import TRAITS
from companion.domain.errors import InvalidInput
from companion.domain.png_chunks import (
    PngTooLarge,
    UnreadablePng,
    placeholder_png,
    text_chunks,
    with_text_chunks,
)

CARDS = Path(__file__).parent.parent / "data" / "cards"
SAKURA = json.loads((CARDS / "sakura_v2.json").read_text())
HIKARI = json.loads((CARDS / "hikari_v3.json").read_text())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# -- reading the specs' cards ----------------------------------------------------------


def test_a_full_v2_card_reads_with_every_field_as_it_came() -> None:
    card = parse_card(SAKURA)

    assert card.spec == V2
    for field, value in SAKURA["data"].items():
        if field != "character_book":
            assert card.data[field] == value, field
    book = card.data["character_book"]
    assert [e["keys"] for e in book["entries"]] == [
        e["keys"] for e in SAKURA["data"]["character_book"]["entries"]
    ]
    assert book["entries"][1]["secondary_keys"] == ["brother"]
    assert card.data["group_only_greetings"] == []  # V3's required field, empty


def test_a_full_v3_card_reads_with_its_v3_fields_and_book() -> None:
    card = parse_card(HIKARI)

    assert card.spec == V3
    assert card.data == HIKARI["data"]


@pytest.mark.parametrize("fixture", [SAKURA, HIKARI], ids=["v2", "v3"])
@pytest.mark.parametrize("spec", [V2, V3])
def test_a_card_goes_through_either_spec_and_back_whole(fixture: Any, spec: Any) -> None:
    card = parse_card(fixture)

    document = card_document(card, spec)

    assert (document["spec"], document["spec_version"]) == (spec, {V2: "2.0", V3: "3.0"}[spec])
    assert parse_card(json.loads(json.dumps(document))).data == card.data


def test_as_v2_a_v3_card_keeps_its_v3_fields_in_our_extension_only() -> None:
    document = card_document(parse_card(HIKARI), V2)

    data = document["data"]
    assert "nickname" not in data
    assert "assets" not in data
    kept = data["extensions"]["companion"]["card_v3"]
    assert kept["nickname"] == "ひかり"
    regex_entry = data["character_book"]["entries"][1]
    assert "use_regex" not in regex_entry
    assert regex_entry["extensions"]["companion"]["card_v3"] == {"use_regex": True}


def test_a_v2_png_is_read_from_its_chara_chunk() -> None:
    card = parse_card_png((CARDS / "sakura_v2.png").read_bytes())

    assert card.spec == V2
    assert card.data == parse_card(SAKURA).data


def test_a_png_with_ccv3_and_chara_is_read_from_ccv3() -> None:
    card = parse_card_png((CARDS / "hikari_v3.png").read_bytes())

    assert card.spec == V3
    assert card.data == HIKARI["data"]


def test_a_written_png_keeps_the_image_and_carries_both_chunks() -> None:
    original = (CARDS / "sakura_v2.png").read_bytes()
    card = parse_card(SAKURA)

    written = card_png(card, card_image(original))

    texts = text_chunks(written, max_text=10**7)
    assert set(texts) == {"ccv3", "chara"}
    assert json.loads(base64.b64decode(texts["chara"]))["spec"] == V2
    assert parse_card_png(written).data == card.data
    assert card_image(written) == card_image(original)


# -- what is not a card ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([], "body"),
        ({"name": "Not a card"}, "spec"),
        ({"spec": "chara_card_v1", "data": {"name": "x"}}, "spec"),
        ({"spec": V2}, "data"),
        ({"spec": V2, "data": {"name": "  "}}, "data.name"),
        ({"spec": V2, "data": {"name": "x", "tags": ["a", 3]}}, "data.tags[1]"),
        ({"spec": V3, "data": {"name": "x", "extensions": []}}, "data.extensions"),
        (
            {"spec": V3, "data": {"name": "x", "character_book": {"entries": [{"keys": "k"}]}}},
            "data.character_book.entries[0].keys",
        ),
        ({"spec": V3, "data": {"name": "x", "creation_date": "today"}}, "data.creation_date"),
    ],
)
def test_what_is_not_a_card_names_its_wrong_field(value: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_card(value)

    assert raised.value.field == field


@pytest.mark.parametrize(
    "png",
    [
        b"not a png at all",
        placeholder_png()[:-20],
        placeholder_png()[:30] + b"\xff" + placeholder_png()[31:],
        placeholder_png()[:-12],  # no IEND
    ],
    ids=["no-signature", "truncated", "bad-crc", "no-iend"],
)
def test_a_broken_png_is_unreadable(png: bytes) -> None:
    with pytest.raises(UnreadablePng):
        parse_card_png(png)


def test_a_png_without_a_card_chunk_is_not_a_card() -> None:
    with pytest.raises(UnreadableCard):
        parse_card_png(placeholder_png())


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_a_compressed_chunk_is_never_inflated_past_its_bound(kind: bytes) -> None:
    bomb = zlib.compress(b"A" * (32 * 1024 * 1024), 9)
    head = b"chara\x00\x00" if kind == b"zTXt" else b"chara\x00\x01\x00\x00\x00"
    png = with_text_chunks(placeholder_png(), {})
    png = png[:-12] + _chunk(kind, head + bomb) + png[-12:]

    with pytest.raises(PngTooLarge):
        text_chunks(png, max_text=1024)


def test_a_compressed_card_within_the_bound_is_read() -> None:
    encoded = base64.b64encode(json.dumps(SAKURA).encode())
    png = placeholder_png()
    png = png[:-12] + _chunk(b"zTXt", b"chara\x00\x00" + zlib.compress(encoded)) + png[-12:]

    assert parse_card_png(png).data["name"] == "Sakura Mizuno"


def test_card_json_past_the_limit_or_not_json_is_refused() -> None:
    with pytest.raises(CardTooLarge):
        parse_card_json(b" " * (2 * 1024 * 1024 + 1))
    for raw in (b"{oops", b'{"spec": NaN}', b"\xff\xfe", b"[" * 100 + b"]" * 100):
        with pytest.raises(UnreadableCard):
            parse_card_json(raw)


# -- the card as a persona ---------------------------------------------------------------


def test_the_card_maps_onto_the_persona() -> None:
    persona = persona_from_card(parse_card(HIKARI))

    assert (persona.name, persona.nickname, persona.age) == ("星野ひかり", "ひかり", 25)
    assert persona.backstory == HIKARI["data"]["description"]
    assert persona.personality_text == HIKARI["data"]["personality"]
    assert persona.scenario == HIKARI["data"]["scenario"]
    assert persona.first_message == HIKARI["data"]["first_mes"]
    assert persona.alternate_greetings == tuple(HIKARI["data"]["alternate_greetings"])
    assert persona.example_dialogues == HIKARI["data"]["mes_example"]
    assert persona.tags == tuple(HIKARI["data"]["tags"])
    assert persona.creator_notes == HIKARI["data"]["creator_notes"]
    # The regex entry stays in the card only; the constant one is always known.
    assert persona.knowledge == (
        Lore(keys=("病院", "hospital"), content="ひかりは市立病院の小児科で働いている。"),
        Lore(keys=(), content="ひかりは猫を一匹飼っている。名前はモチ。", constant=True),
    )


def test_knowledge_comes_up_by_its_keys_or_always_when_constant() -> None:
    knowledge = persona_from_card(parse_card(SAKURA)).knowledge

    said = [lore.keys[0] for lore in knowledge_for(knowledge, "Is KENJI coming over?")]

    assert said == ["Kenji", "festival"]
    assert [lore.keys[0] for lore in knowledge_for(knowledge, "hello")] == ["festival"]


@pytest.mark.parametrize("fixture", [SAKURA, HIKARI], ids=["v2", "v3"])
def test_the_persona_as_a_card_comes_back_as_the_same_persona_and_card(fixture: Any) -> None:
    card = parse_card(fixture)
    persona = persona_from_card(card)

    exported = card_of(persona, kept_of(card))

    assert persona_from_card(exported) == persona
    assert card_of(persona_from_card(exported), kept_of(exported)) == exported
    unmapped = {k: v for k, v in card.data.items() if k != "extensions"}
    assert {k: exported.data[k] for k in unmapped} == unmapped


def test_personality_weights_follow_the_lexicon() -> None:
    neutral = personality_weights(["A librarian."])
    cheerful = personality_weights(["She is cheerful and energetic."])
    akarui = personality_weights(["明るい性格で、いつも明るい笑顔。元気な子。"])
    shy = personality_weights(["A shy, quiet girl."])

    assert neutral == dict.fromkeys(TRAITS, 0.5)
    assert cheerful["activeness"] == 0.7
    assert akarui["activeness"] == 0.7  # 明るい and 元気: a word counts once
    assert shy["activeness"] == 0.3
    assert {t: w for t, w in cheerful.items() if t != "activeness"} == dict.fromkeys(
        set(TRAITS) - {"activeness"}, 0.5
    )


_LEXICON = sorted({w for words in (*RAISES.values(), *LOWERS.values()) for w in words})


@given(
    st.lists(st.sampled_from(_LEXICON), unique=True, max_size=len(_LEXICON)),
    st.lists(st.text(max_size=8), max_size=4),
)
def test_inferred_weights_stay_in_range_and_are_deterministic(
    words: list[str], other: list[str]
) -> None:
    texts = [" ".join(words), *other]
    weights = personality_weights(texts)

    assert set(weights) == set(TRAITS)
    assert all(0.0 <= w <= 1.0 for w in weights.values())
    assert personality_weights(texts) == weights


def test_stated_ages_are_found_in_english_and_japanese() -> None:
    text = "Age: 30. A 16-year-old brother, 17 years old cousin, 20yo friend; 年齢：４５、19歳。"

    assert stated_ages([text]) == [30, 16, 17, 20, 45, 19]
    assert stated_ages(["Born in 1999, she has 3 cats."]) == []


def test_gender_follows_the_pronouns_and_defaults_to_girlfriend() -> None:
    assert gender_of(["He is a chef. His knives are sharp."]) == "boyfriend"
    assert gender_of(["彼は医者。"]) == "boyfriend"
    assert gender_of(["彼女は医者。"]) == "girlfriend"
    assert gender_of(["A librarian."]) == "girlfriend"


def _data(**changes: Any) -> dict[str, Any]:
    return parse_card({"spec": V2, "data": {"name": "Ren", **changes}}).data


def test_the_age_rule() -> None:
    assert character_age(_data(), {}, 30) == 30
    assert character_age(_data(description="Ren is 40 years old."), {}, 30) == 40
    assert character_age(_data(extensions={"age": "22"}), {}, None) == 22
    assert character_age(_data(description="a 900-year-old dragon"), {}, 30) == 30
    for data, own in (
        (_data(description="Ren is 17 years old."), {}),
        (_data(extensions={"age": 12}), {}),
        (_data(description="Ren is 20 years old."), {"age": 16}),
    ):
        with pytest.raises(InvalidInput, match="adults"):
            character_age(data, own, 30)
    with pytest.raises(InvalidInput, match=r"\?age="):
        character_age(_data(), {}, None)


def test_a_card_field_past_the_persona_limits_names_the_card_field() -> None:
    card = parse_card({"spec": V2, "data": {"name": "Ren", "description": "x" * 4001}})

    with pytest.raises(InvalidInput) as raised:
        persona_from_card(card, age=30)

    assert raised.value.field == "data.description"


# -- any card the writer writes reads back the same ---------------------------------------

_texts = st.text(max_size=30).filter(lambda t: "\x00" not in t)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=8,
)
_entries = st.fixed_dictionaries(
    {
        "keys": st.lists(_texts, max_size=3),
        "content": _texts,
        "extensions": st.dictionaries(_texts, _json, max_size=2),
        "enabled": st.booleans(),
        "insertion_order": st.integers(-100, 100),
        "use_regex": st.booleans(),
    },
    optional={
        "constant": st.booleans(),
        "secondary_keys": st.lists(_texts, max_size=2),
        "id": st.integers(0, 99) | _texts,
        "position": st.sampled_from(["before_char", "after_char"]),
    },
)
_cards = st.fixed_dictionaries(
    {
        "spec": st.sampled_from([V2, V3]),
        "data": st.fixed_dictionaries(
            {
                "name": _texts.filter(str.strip),
                "description": _texts,
                "tags": st.lists(_texts, max_size=3),
                "alternate_greetings": st.lists(_texts, max_size=2),
                "extensions": st.dictionaries(_texts, _json, max_size=3),
            },
            optional={
                "nickname": _texts,
                "group_only_greetings": st.lists(_texts, max_size=2),
                "source": st.lists(_texts, max_size=2),
                "creation_date": st.integers(0, 2**40),
                "creator_notes_multilingual": st.dictionaries(_texts, _texts, max_size=2),
                "assets": st.lists(
                    st.fixed_dictionaries(
                        {"type": _texts, "uri": _texts, "name": _texts, "ext": _texts}
                    ),
                    max_size=2,
                ),
                "character_book": st.fixed_dictionaries(
                    {"entries": st.lists(_entries, max_size=3)},
                    optional={"name": _texts, "scan_depth": st.integers(0, 100)},
                ),
            },
        ),
    }
)


@settings(max_examples=150)
@given(_cards, st.sampled_from([V2, V3]))
def test_any_card_the_writer_writes_reads_back_equal(value: Any, spec: Any) -> None:
    card = parse_card(value)

    document = card_document(card, spec)
    again = parse_card(json.loads(json.dumps(document)))

    assert again == CharacterCard(data=card.data, spec=spec)
    assert parse_card_png(card_png(card, placeholder_png(), spec)).data == card.data
