"""The persona's fields that come from a character card, validated: its texts and its
lorebook as the character's knowledge (`Lore`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from companion.domain import validation
from companion.domain.errors import InvalidInput

# What a persona holds of a character card (see character_cards.py), at most.
MAX_CARD_TEXT_CHARS = 8000
"""The personality text, the scenario, the creator's notes, the example dialogues."""
MAX_GREETING_CHARS = 4000
MAX_GREETINGS = 20
MAX_TAGS = 50
MAX_TAG_CHARS = 100
MAX_LORE_ENTRIES = 500
MAX_LORE_KEYS = 50
MAX_LORE_KEY_CHARS = 200
MAX_LORE_CHARS = 8000


@dataclass(frozen=True)
class Lore:
    """A piece of the character's knowledge (a character card's lorebook entry).

    It comes to mind when one of its keys is said (case-insensitively), or always
    when it is `constant`.
    """

    keys: tuple[str, ...]
    content: str
    constant: bool = False

    @classmethod
    def parse(cls, field: str, entry: Mapping[str, Any]) -> Lore:
        if not isinstance(entry, Mapping):
            raise InvalidInput(field, "must be an object")
        keys = entry.get("keys", ())
        if isinstance(keys, str) or len(keys) > MAX_LORE_KEYS:
            raise InvalidInput(f"{field}.keys", f"must be a list of at most {MAX_LORE_KEYS} keys")
        constant = entry.get("constant", False)
        if not isinstance(constant, bool):
            raise InvalidInput(f"{field}.constant", "must be true or false")
        return cls(
            keys=tuple(
                validation.text(f"{field}.keys[{i}]", key, max_length=MAX_LORE_KEY_CHARS)
                for i, key in enumerate(keys)
            ),
            content=validation.text(
                f"{field}.content", entry.get("content", ""), max_length=MAX_LORE_CHARS
            ),
            constant=constant,
        )

    def comes_up_in(self, text: str) -> bool:
        """Whether this knowledge is called for by `text` (what was just said)."""
        if self.constant:
            return True
        folded = text.casefold()
        return any(key.casefold() in folded for key in self.keys)


def knowledge_for(knowledge: Sequence[Lore], text: str) -> list[Lore]:
    """The pieces of knowledge `text` calls for, in the persona's order: what a prompt adds."""
    return [lore for lore in knowledge if lore.comes_up_in(text)]


def _texts(field: str, values: Sequence[str], *, most: int, max_length: int) -> tuple[str, ...]:
    if isinstance(values, str) or len(values) > most:
        raise InvalidInput(field, f"must be a list of at most {most} items")
    return tuple(
        validation.text(f"{field}[{i}]", value, max_length=max_length)
        for i, value in enumerate(values)
    )


CARD_FIELDS = (
    "personality_text",
    "scenario",
    "first_message",
    "alternate_greetings",
    "example_dialogues",
    "tags",
    "creator_notes",
    "knowledge",
)
"""The persona's fields that come from a character card."""


def card_fields(
    *,
    personality_text: str | None,
    scenario: str | None,
    first_message: str | None,
    alternate_greetings: Sequence[str],
    example_dialogues: str | None,
    tags: Sequence[str],
    creator_notes: str | None,
    knowledge: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    if isinstance(knowledge, str | Mapping) or len(knowledge) > MAX_LORE_ENTRIES:
        raise InvalidInput("knowledge", f"must be a list of at most {MAX_LORE_ENTRIES} entries")
    return {
        "personality_text": validation.optional_text(
            "personality_text", personality_text, max_length=MAX_CARD_TEXT_CHARS
        ),
        "scenario": validation.optional_text("scenario", scenario, max_length=MAX_CARD_TEXT_CHARS),
        "first_message": validation.optional_text(
            "first_message", first_message, max_length=MAX_GREETING_CHARS
        ),
        "alternate_greetings": _texts(
            "alternate_greetings",
            alternate_greetings,
            most=MAX_GREETINGS,
            max_length=MAX_GREETING_CHARS,
        ),
        "example_dialogues": validation.optional_text(
            "example_dialogues", example_dialogues, max_length=MAX_CARD_TEXT_CHARS
        ),
        "tags": _texts("tags", tags, most=MAX_TAGS, max_length=MAX_TAG_CHARS),
        "creator_notes": validation.optional_text(
            "creator_notes", creator_notes, max_length=MAX_CARD_TEXT_CHARS
        ),
        "knowledge": tuple(
            Lore.parse(f"knowledge[{i}]", entry) for i, entry in enumerate(knowledge)
        ),
    }
