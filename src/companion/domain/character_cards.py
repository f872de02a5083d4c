"""Character Cards, the format SillyTavern and its ecosystem share: read, checked and written.

A card is `{"spec", "spec_version", "data"}`: V2 (`chara_card_v2`, "2.0") with
name, description, personality, scenario, first_mes, mes_example,
creator_notes, system_prompt, post_history_instructions, alternate_greetings,
character_book, tags, creator, character_version and extensions under `data`;
V3 (`chara_card_v3`, "3.0") with those and assets, nickname,
creator_notes_multilingual, source, group_only_greetings, creation_date and
modification_date, and lorebook entries that also say `use_regex`.

`parse_card` reads either into one `CharacterCard` of V3's shape: every field
type-checked (a wrong type is an `InvalidInput` naming it, `data.tags[2]`), the
missing ones given the spec's empty values, keys this module does not know kept
as they came. `card_document` writes it as V3 or V2. V2 has no place for V3's
fields: written as V2, those that say something go under
`data.extensions.companion.card_v3` (and an entry's `use_regex` under the
entry's `extensions.companion.card_v3`), where reading a V2 card takes them
back, so a card goes through V2 and back whole. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from companion.domain.errors import DomainError, InvalidInput
from companion.domain.png_chunks import text_chunks, with_text_chunks

V2: Final = "chara_card_v2"
V3: Final = "chara_card_v3"
SPEC_VERSIONS = {V2: "2.0", V3: "3.0"}
Spec = Literal["chara_card_v2", "chara_card_v3"]

MAX_JSON_CARD_BYTES = 512 * 1024
"""The largest card taken as JSON."""
MAX_PNG_CARD_BYTES = 2 * 1024 * 1024
"""The largest card taken as a PNG (the image with its card)."""
PNG_KEYWORDS = {V2: "chara", V3: "ccv3"}
MAX_CARD_DEPTH = 32
"""The deepest a card's JSON may nest (as any JSON body of the API)."""
_SURROGATE = re.compile("[\ud800-\udfff]")

OWN_EXTENSION = "companion"
"""Our key in a card's `extensions`: what this backend adds to a card."""
V3_KEPT = "card_v3"
"""Under OWN_EXTENSION in a V2 card: the V3 fields V2 has no place for."""

TEXT_FIELDS = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "creator",
    "character_version",
)
TEXT_LIST_FIELDS = ("alternate_greetings", "tags")
V3_FIELDS = (
    "assets",
    "nickname",
    "creator_notes_multilingual",
    "source",
    "group_only_greetings",
    "creation_date",
    "modification_date",
)
ENTRY_V3_FIELDS = ("use_regex",)
ASSET_FIELDS = ("type", "uri", "name", "ext")


class UnreadableCard(DomainError):
    """Bytes that do not hold a card at all: a PNG without a card chunk, a bad base64."""

    code = "invalid_card"


class CardTooLarge(DomainError):
    """A card (or what it inflates to) past the size limit."""

    code = "body_too_large"


@dataclass(frozen=True)
class CharacterCard:
    """A card in V3's shape, whichever spec it came as (`spec`)."""

    data: dict[str, Any]
    spec: Spec = V3


# -- checking values -------------------------------------------------------------------


def _text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    return value


def _texts(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(field, "must be a list of texts")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidInput(f"{field}[{i}]", "must be text")
    return list(value)


def _object(field: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object")
    return value


def _boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be true or false")
    return value


def _number(field: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, "must be a number")
    return value


def _check_optional(field: str, entry: dict[str, Any], checks: dict[str, Any]) -> None:
    for name, check in checks.items():
        if name in entry:
            entry[name] = check(f"{field}.{name}", entry[name])


def _id(field: str, value: Any) -> int | float | str:
    if isinstance(value, str):
        return value
    return _number(field, value)


def _entry(field: str, value: Any) -> dict[str, Any]:
    entry = dict(_object(field, value))
    entry["keys"] = _texts(f"{field}.keys", entry.get("keys"))
    entry["content"] = _text(f"{field}.content", entry.get("content"))
    entry["extensions"] = _object(f"{field}.extensions", entry.get("extensions"))
    entry["enabled"] = _boolean(f"{field}.enabled", entry.get("enabled", True))
    entry["insertion_order"] = _number(f"{field}.insertion_order", entry.get("insertion_order", 0))
    entry["use_regex"] = _boolean(f"{field}.use_regex", entry.get("use_regex", False))
    _check_optional(
        field,
        entry,
        {
            "case_sensitive": _boolean,
            "constant": _boolean,
            "selective": _boolean,
            "name": _text,
            "comment": _text,
            "position": _text,
            "priority": _number,
            "id": _id,
            "secondary_keys": _texts,
        },
    )
    return entry


def _book(field: str, value: Any) -> dict[str, Any]:
    book = dict(_object(field, value))
    entries = book.get("entries")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InvalidInput(f"{field}.entries", "must be a list of entries")
    book["entries"] = [_entry(f"{field}.entries[{i}]", e) for i, e in enumerate(entries)]
    book["extensions"] = _object(f"{field}.extensions", book.get("extensions"))
    _check_optional(
        field,
        book,
        {
            "name": _text,
            "description": _text,
            "scan_depth": _number,
            "token_budget": _number,
            "recursive_scanning": _boolean,
        },
    )
    return book


def _asset(field: str, value: Any) -> dict[str, Any]:
    asset = dict(_object(field, value))
    for name in ASSET_FIELDS:
        asset[name] = _text(f"{field}.{name}", asset.get(name))
    return asset


def _languages(field: str, value: Any) -> dict[str, str]:
    notes = _object(field, value)
    for language, text in notes.items():
        _text(f"{field}.{language}", text)
    return notes


def _assets(field: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise InvalidInput(field, "must be a list of assets")
    return [_asset(f"{field}[{i}]", asset) for i, asset in enumerate(value)]


def _v3_fields(data: dict[str, Any], field: str) -> None:
    data["group_only_greetings"] = _texts(
        f"{field}.group_only_greetings", data.get("group_only_greetings")
    )
    _check_optional(
        field,
        data,
        {
            "assets": _assets,
            "nickname": _text,
            "creator_notes_multilingual": _languages,
            "source": _texts,
            "creation_date": _number,
            "modification_date": _number,
        },
    )


# -- reading -----------------------------------------------------------------------------


def _take_kept(extensions: dict[str, Any]) -> dict[str, Any]:
    """The V3 fields a V2 card keeps under our extension, taken out of it."""
    own = extensions.get(OWN_EXTENSION)
    if not isinstance(own, dict) or V3_KEPT not in own:
        return {}
    own = dict(own)
    kept = _object(f"data.extensions.{OWN_EXTENSION}.{V3_KEPT}", own.pop(V3_KEPT))
    if own:
        extensions[OWN_EXTENSION] = own
    else:
        del extensions[OWN_EXTENSION]
    return dict(kept)


def _check_json(value: Any) -> None:
    """No nesting past MAX_CARD_DEPTH and no lone surrogate, checked without recursion."""
    stack: list[tuple[int, Any]] = [(0, value)]
    while stack:
        depth, item = stack.pop()
        if depth > MAX_CARD_DEPTH:
            raise UnreadableCard(f"the card nests deeper than {MAX_CARD_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((depth + 1, key) for key in item)
            stack.extend((depth + 1, child) for child in item.values())
        elif isinstance(item, list):
            stack.extend((depth + 1, child) for child in item)
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise UnreadableCard("the card holds a lone UTF-16 surrogate")


def parse_card(value: Any) -> CharacterCard:
    """A card from its JSON value; `InvalidInput` naming the first field that is wrong."""
    _check_json(value)
    if not isinstance(value, dict):
        raise InvalidInput("body", "a character card is a JSON object")
    spec = value.get("spec")
    if spec not in SPEC_VERSIONS:
        raise InvalidInput("spec", f"must be {V2!r} or {V3!r}: this is not a Character Card")
    if not isinstance(value.get("spec_version", ""), str):
        raise InvalidInput("spec_version", "must be a version such as '2.0' or '3.0'")
    if "data" not in value:
        raise InvalidInput("data", "a character card holds its fields under data")
    data = copy.deepcopy(_object("data", value["data"]))
    for name in TEXT_FIELDS:
        data[name] = _text(f"data.{name}", data.get(name))
    if not data["name"].strip():
        raise InvalidInput("data.name", "a character card must name its character")
    for name in TEXT_LIST_FIELDS:
        data[name] = _texts(f"data.{name}", data.get(name))
    data["extensions"] = _object("data.extensions", data.get("extensions"))
    if spec == V2:
        data.update(_take_kept(data["extensions"]))
    _v3_fields(data, "data")
    if data.get("character_book") is None:
        data.pop("character_book", None)
    else:
        book = _book("data.character_book", data["character_book"])
        if spec == V2:
            for entry in book["entries"]:
                entry.update(_take_kept(entry["extensions"]))
            book = _book("data.character_book", book)
        data["character_book"] = book
    return CharacterCard(data=data, spec=spec)


def parse_card_json(raw: bytes) -> CharacterCard:
    """A card from JSON text, as sent or as a PNG carries it."""
    if len(raw) > MAX_PNG_CARD_BYTES:
        raise CardTooLarge(f"a card may be at most {MAX_PNG_CARD_BYTES} bytes")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_not_json, parse_float=_finite)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UnreadableCard("the card is not JSON in UTF-8") from None
    return parse_card(value)


def _not_json(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("a number is too large")
    return number


def parse_card_png(png: bytes) -> CharacterCard:
    """A card from the text chunk of a PNG: `ccv3` when there is one, else `chara`."""
    if len(png) > MAX_PNG_CARD_BYTES:
        raise CardTooLarge(f"a PNG card may be at most {MAX_PNG_CARD_BYTES} bytes")
    limit = MAX_PNG_CARD_BYTES * 4 // 3 + 4
    texts = text_chunks(png, max_text=limit)
    encoded = texts.get(PNG_KEYWORDS[V3], texts.get(PNG_KEYWORDS[V2]))
    if encoded is None:
        raise UnreadableCard("the PNG holds no character card (no 'ccv3' or 'chara' chunk)")
    if len(encoded) > limit:
        raise CardTooLarge(f"a card may be at most {MAX_PNG_CARD_BYTES} bytes")
    try:
        raw = base64.b64decode(b"".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableCard("the PNG's card chunk is not base64") from None
    return parse_card_json(raw)


def card_image(png: bytes) -> bytes:
    """The PNG a card came on, without its card chunks: the character's picture."""
    return with_text_chunks(png, {}, removing=PNG_KEYWORDS.values())


# -- writing -----------------------------------------------------------------------------


def _keep(extensions: dict[str, Any], kept: dict[str, Any]) -> None:
    if kept:
        own = dict(extensions.get(OWN_EXTENSION) or {})
        own[V3_KEPT] = kept
        extensions[OWN_EXTENSION] = own


def _said(name: str, value: Any) -> bool:
    """Whether a V3 field says anything V2's reader would need back."""
    return not (name in ("group_only_greetings", "use_regex") and not value)


def card_document(card: CharacterCard, spec: Spec = V3) -> dict[str, Any]:
    """The card as JSON data of `spec`."""
    data = copy.deepcopy(card.data)
    if spec == V2:
        _keep(
            data["extensions"],
            {n: data.pop(n) for n in V3_FIELDS if n in data and _said(n, data[n])},
        )
        for name in V3_FIELDS:
            data.pop(name, None)
        for entry in data.get("character_book", {}).get("entries", []):
            kept = {n: entry.pop(n) for n in ENTRY_V3_FIELDS if _said(n, entry.get(n))}
            for name in ENTRY_V3_FIELDS:
                entry.pop(name, None)
            _keep(entry["extensions"], kept)
    return {"spec": spec, "spec_version": SPEC_VERSIONS[spec], "data": data}


def card_json(card: CharacterCard, spec: Spec = V3) -> bytes:
    """The card as JSON text of `spec`, in UTF-8."""
    return json.dumps(card_document(card, spec), ensure_ascii=False).encode("utf-8")


def card_png(card: CharacterCard, image: bytes, spec: Spec = V3) -> bytes:
    """The image carrying the card: as V3, both `ccv3` and `chara` (V2); as V2, `chara` only."""

    def encoded(as_spec: Spec) -> bytes:
        return base64.b64encode(card_json(card, as_spec))

    texts = {PNG_KEYWORDS[V2]: encoded(V2)}
    if spec == V3:
        texts = {PNG_KEYWORDS[V3]: encoded(V3), **texts}
    return with_text_chunks(image, texts)
