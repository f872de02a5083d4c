"""A character card's character as our persona, and the persona as a card again.

What maps (card → persona): name → name; nickname (V3) → nickname (else the
name); description → backstory; personality → personality_text; scenario →
scenario; first_mes → first_message; alternate_greetings → alternate_greetings;
mes_example → example_dialogues; tags → tags; creator_notes → creator_notes;
each enabled, non-regex entry of character_book → a piece of `knowledge`
(keys, content, constant). What has no place in a persona — the lorebook whole,
system_prompt, post_history_instructions, creator, character_version, the
other extensions, V3's assets, sources, dates and greetings for groups, keys
no spec names — is `kept`: it goes on the CardImported event as it came and
into the card given back.

Our own extension, `extensions.companion`, carries what a card has no field
for: `age`, `gender`, `personality` (the five weights), `nickname`,
`occupation`, `hobbies`. A card we wrote comes back as the same character.
Without it the weights come from the card's text and the gender from its
pronouns (card_reading.py), the age from the card (below) or the importer.

The age rule: an age the card declares (`extensions.companion.age`, else
`extensions.age`) or states in its text ("17 years old", 17歳, "Age: 17") under
MIN_AGE refuses the card. A declared age is the character's age and must meet
the persona's rules; else the first age the text states from MIN_AGE to
MAX_AGE; else the age the importer gives; none at all is refused too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from companion.domain.card_reading import gender_of, personality_weights, stated_ages
from companion.domain.character_cards import OWN_EXTENSION, V3, CharacterCard, parse_card
from companion.domain.characters import TRAITS, Persona
from companion.domain.errors import InvalidInput
from companion.domain.limits import MAX_AGE, MAX_NICKNAME_CHARS, MIN_AGE

MAPPED = (
    "name",
    "nickname",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "alternate_greetings",
    "tags",
    "creator_notes",
)
"""The card's fields a persona holds."""

_OWN = f"data.extensions.{OWN_EXTENSION}"
# A persona's field, as the card names it (for the errors a card's importer reads).
CARD_FIELD = {
    "name": "data.name",
    "nickname": "data.nickname",
    "backstory": "data.description",
    "personality_text": "data.personality",
    "scenario": "data.scenario",
    "first_message": "data.first_mes",
    "alternate_greetings": "data.alternate_greetings",
    "example_dialogues": "data.mes_example",
    "tags": "data.tags",
    "creator_notes": "data.creator_notes",
    "knowledge": "data.character_book.entries",
    "personality": f"{_OWN}.personality",
    "occupation": f"{_OWN}.occupation",
    "hobbies": f"{_OWN}.hobbies",
    "gender": f"{_OWN}.gender",
}


def card_field(field: str) -> str:
    """A persona's field (`backstory`, `knowledge[2].content`) as the card names it."""
    head = field.split(".", 1)[0].split("[", 1)[0]
    name = CARD_FIELD.get(head)
    return field if name is None else name + field[len(head) :]


def card_texts(data: Mapping[str, Any]) -> list[str]:
    """The card's text about its character, as the reading rules read it."""
    return [
        data["description"],
        data["personality"],
        data["scenario"],
        data["first_mes"],
        *data["alternate_greetings"],
        data["mes_example"],
    ]


def _declared_age(data: Mapping[str, Any], own: Mapping[str, Any]) -> int | None:
    field, value = (f"{_OWN}.age", own["age"]) if "age" in own else ("data.extensions.age", None)
    if value is None:
        value = data["extensions"].get("age")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be a whole number of years")
    return value


def character_age(data: Mapping[str, Any], own: Mapping[str, Any], given: int | None) -> int:
    """The character's age by the age rule of this module."""
    declared = _declared_age(data, own)
    in_text = stated_ages(card_texts(data))
    stated = ([] if declared is None else [declared]) + in_text
    under = next((age for age in stated if age < MIN_AGE), None)
    if under is not None:
        raise InvalidInput(
            "age",
            f"the card states an age of {under}: characters must be adults ({MIN_AGE} or"
            " over), so this card cannot be imported",
        )
    if declared is not None:
        return declared
    adult = next((age for age in in_text if age <= MAX_AGE), None)
    if adult is not None:
        return adult
    if given is None:
        raise InvalidInput(
            "age",
            f"the card states no age: give the character's age as ?age= ({MIN_AGE} to {MAX_AGE})",
        )
    return given


def _knowledge(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    entries = data.get("character_book", {}).get("entries", [])
    return [
        {
            "keys": [key for key in entry["keys"] if key.strip()],
            "content": entry["content"],
            "constant": entry.get("constant", False),
        }
        for entry in entries
        if entry["enabled"] and not entry["use_regex"] and entry["content"].strip()
    ]


_OWN_TYPES: dict[str, tuple[type, str]] = {
    "nickname": (str, "text"),
    "gender": (str, "text"),
    "personality": (dict, "an object of the five weights"),
    "occupation": (str, "text"),
    "hobbies": (list, "a list of texts"),
}


def _own(data: Mapping[str, Any]) -> dict[str, Any]:
    own = data["extensions"].get(OWN_EXTENSION, {})
    if not isinstance(own, dict):
        raise InvalidInput(_OWN, "must be an object")
    for name, (kind, said) in _OWN_TYPES.items():
        if own.get(name) is not None and not isinstance(own[name], kind):
            raise InvalidInput(f"{_OWN}.{name}", f"must be {said}")
    return own


def persona_from_card(
    card: CharacterCard, *, age: int | None = None, gender: str | None = None
) -> Persona:
    """The card's character as a persona; `age` and `gender` are the importer's, if given."""
    data = card.data
    own = _own(data)
    texts = card_texts(data)
    name = data["name"].strip()
    nickname = own.get("nickname") or (data.get("nickname") or "").strip()
    try:
        return Persona.parse(
            name=name,
            nickname=nickname or name[:MAX_NICKNAME_CHARS],
            gender=gender or own.get("gender") or gender_of(texts),
            age=character_age(data, own, age),
            personality=own.get("personality") or personality_weights(texts),
            occupation=own.get("occupation"),
            hobbies=own.get("hobbies") or (),
            backstory=data["description"],
            personality_text=data["personality"],
            scenario=data["scenario"],
            first_message=data["first_mes"],
            alternate_greetings=[g for g in data["alternate_greetings"] if g.strip()],
            example_dialogues=data["mes_example"],
            tags=[tag for tag in data["tags"] if tag.strip()],
            creator_notes=data["creator_notes"],
            knowledge=_knowledge(data),
        )
    except InvalidInput as error:
        if error.field == "age":
            raise
        detail = error.detail.removeprefix(f"{error.field}: ")
        raise InvalidInput(card_field(error.field), detail) from None


def kept_of(card: CharacterCard) -> str:
    """What of the card a persona does not hold, as JSON text for the CardImported event."""
    kept = {name: value for name, value in card.data.items() if name not in MAPPED}
    kept["extensions"] = {
        key: value for key, value in card.data["extensions"].items() if key != OWN_EXTENSION
    }
    return json.dumps(kept, ensure_ascii=False)


def card_of(persona: Persona, kept: str | None = None) -> CharacterCard:
    """The persona as a card, with what its card held beyond it (`kept_of`'s text)."""
    rest: dict[str, Any] = json.loads(kept) if kept else {}
    own: dict[str, Any] = {
        "age": persona.age,
        "gender": persona.gender,
        "nickname": persona.nickname,
        "personality": {trait: getattr(persona.personality, trait) for trait in TRAITS},
    }
    if persona.occupation:
        own["occupation"] = persona.occupation
    if persona.hobbies:
        own["hobbies"] = list(persona.hobbies)
    data: dict[str, Any] = {
        "name": persona.name,
        "description": persona.backstory or "",
        "personality": persona.personality_text or "",
        "scenario": persona.scenario or "",
        "first_mes": persona.first_message or "",
        "mes_example": persona.example_dialogues or "",
        "creator_notes": persona.creator_notes or "",
        "alternate_greetings": list(persona.alternate_greetings),
        "tags": list(persona.tags),
        **rest,
        "extensions": {**rest.get("extensions", {}), OWN_EXTENSION: own},
    }
    if persona.nickname != persona.name:
        data["nickname"] = persona.nickname
    return parse_card({"spec": V3, "spec_version": "3.0", "data": data})
