"""Redaction of exported events: safe by default, every id pseudonymised.

The rule is by field name, at any depth (a mood factor's `type` is the field
`type` inside `factors`):

- a string leaves as written only when its field is in CATEGORY_FIELDS: a
  value from a short set the domain, the operator or a payment provider
  enumerates (a tier, a mood's cause, a factor's type, an item's slug), never
  something a user or a model wrote;
- the fields of PERSONAL_FIELDS (names, emails, persona text) do not leave at all;
- every other string, at any depth, becomes its length (`text` → `text_chars`):
  a text field added tomorrow (a memory fact, a reason typed by someone) cannot
  leak because nobody listed it. So do messages, replies, memory content and
  anything not yet known to be a category;
- a vector made from personal text (a memory's embedding) leaves as its
  dimension count, and every id (a UUID, as such or as text) as a pseudonym.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import types
import typing
from collections.abc import Mapping, Sized
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID

from companion.app.event_catalogue import EventType

# String fields whose values are categories, never free text: exported as they are,
# wherever they sit. A name joins only when every field of that name, in every
# event, holds a value from an enumerated set that no user or model writes.
CATEGORY_FIELDS = frozenset(
    {
        "originator_topic",  # the event class
        "timezone",  # an IANA zone name
        "tier",  # free, premium, ultimate
        "gender",  # of a persona
        "model",  # the chat model that replied
        "voice",  # the voice a reply was spoken in
        "slot",  # where an item is equipped
        "memory_type",  # event, preference, relationship, significant
        "horizon",  # how long a memory is kept: short, long, significant
        "extractor",  # the rule or model that found a memory
        "emotion",  # the feeling a memory is tied to, one of the sentiment's emotions
        "expression",  # the avatar's expression a mood change decided, one of a few names
        "baseline_expression",  # the expression of a persona's baseline mood
        "cause",  # what moved a mood: message, daily_event
        "type",  # a mood factor's (interaction, weather, …), an item effect's, a provider event's
        "kind",  # a gem credit's or debit's (gem_pack, purchase, …), a daily event's
        "season",  # of a daily event
        "category",  # of a catalogue item: hair, outfit, accessories, expressions
        "rarity",  # of a catalogue item: common, rare, epic, legendary
        "slug",  # a catalogue item's name for operators, chosen by them
        "pack_id",  # the gem pack a payment buys
        "stat",  # what an item's stat boost raises
        "animation",  # the animation an item unlocks
        "expressions",  # the expression names an item unlocks
        "provider",  # sandbox, stripe
        "status",  # a subscription's: active, past_due, canceled, …
        "outcome",  # what a provider event did: applied, duplicate, ignored, rejected
    }
)
# Fields whose values are personal wherever they sit (top level or nested):
# not even their length leaves.
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "password_hash",
        "name",
        "nickname",
        "backstory",
        "occupation",
        "hobbies",
        "client_message_id",
        "audio_ref",
    }
)
# Vectors derived from personal text (a memory's embedding): only their dimension count leaves.
VECTOR_FIELDS = frozenset({"vector"})
# Profile changes keep which fields changed, not to what.
CHANGES_FIELD = "changes"
# Values that hold no text: exported as they are.
PLAIN_VALUES = (bool, int, float, Decimal, datetime, date, Enum, type(None))


def chars(name: str) -> str:
    """The field that holds the length of a text field."""
    return f"{name}_chars"


def dimensions(name: str) -> str:
    """The field that holds the dimension count of a vector field."""
    return f"{name}_dimensions"


class Redaction:
    """Removes free text and personal values from exported events; pseudonymises every id.

    A pseudonym is an HMAC-SHA256 of the id under a key made for this one
    export, shaped as a UUID: the same id gets the same pseudonym within an
    export (so joins still work) and another one in the next export (so
    exports cannot be joined with each other or with the store).
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def pseudonym(self, value: UUID) -> UUID:
        digest = hmac.new(self._key, value.bytes, hashlib.sha256).digest()
        return UUID(bytes=digest[:16], version=4)

    def columns(self, event_type: EventType) -> tuple[str, ...]:
        """The top-level fields of a redacted event of this type, from its declared types."""
        hints = _hints(event_type.event_class)
        columns: list[str] = []
        for name in event_type.fields:
            if name in PERSONAL_FIELDS:
                continue
            if name == CHANGES_FIELD:
                columns.append("changed_fields")
            elif name in VECTOR_FIELDS:
                columns.append(dimensions(name))
            elif name not in CATEGORY_FIELDS and _is_text(hints.get(name)):
                columns.append(chars(name))
            else:
                columns.append(name)
        return tuple(columns)

    def state(self, state: Mapping[str, Any]) -> dict[str, Any]:
        redacted: dict[str, Any] = {}
        for key, value in state.items():
            name = self._key_of(key)
            if name in PERSONAL_FIELDS:
                continue
            if name == CHANGES_FIELD and isinstance(value, Mapping):
                redacted["changed_fields"] = sorted(self._key_of(k) for k in value)
                continue
            if name in VECTOR_FIELDS:
                redacted[dimensions(name)] = len(value) if isinstance(value, Sized) else 0
                continue
            kept, is_text = self._value(name, value)
            redacted[chars(name) if is_text else name] = kept
        return redacted

    def value(self, value: Any) -> Any:
        """An id (or any value outside an event's state), redacted as a nameless field."""
        kept, _ = self._value("", value)
        return kept

    def _value(self, name: str, value: Any) -> tuple[Any, bool]:
        """The value a field keeps, and whether it was text now replaced by its length."""
        if isinstance(value, UUID):
            return self.pseudonym(value), False
        if isinstance(value, PLAIN_VALUES):
            return value, False
        if isinstance(value, str):
            if (parsed := _as_uuid(value)) is not None:
                return self.pseudonym(parsed), False
            if name in CATEGORY_FIELDS:
                return value, False
            return len(value), True
        if isinstance(value, Mapping):
            return self.state(value), False
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.state(dataclasses.asdict(value)), False
        if isinstance(value, list | tuple | set | frozenset):
            items = [self._value(name, item) for item in value]
            return [kept for kept, _ in items], any(is_text for _, is_text in items)
        # Bytes or anything else: nothing says it is not personal.
        return len(str(value)), True

    def _key_of(self, key: Any) -> str:
        """A mapping key as a field name; a key that is an id is pseudonymised like one."""
        text = str(key)
        parsed = key if isinstance(key, UUID) else _as_uuid(text)
        return str(self.pseudonym(parsed)) if parsed is not None else text


@cache
def _hints(event_class: type) -> dict[str, Any]:
    return typing.get_type_hints(event_class)


def _is_text(hint: Any) -> bool:
    """Whether a declared type holds text: str, optional str, or a collection of str."""
    if hint is str:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_is_text(arg) for arg in args if arg is not type(None))
    if origin in (list, tuple, set, frozenset):
        return any(_is_text(arg) for arg in args if arg is not Ellipsis)
    return False


def _as_uuid(text: str) -> UUID | None:
    if len(text) != 36:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None
