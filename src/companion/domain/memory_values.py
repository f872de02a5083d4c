"""What a memory is, apart from the book that keeps it: the candidate an extractor finds in a
message, the memory as the book shows it, and how two statements of a fact are compared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

from companion.domain import validation
from companion.domain.errors import InvalidInput
from companion.domain.lemmas import normalise
from companion.domain.memory_policy import Horizon, clamp_importance, recency
from companion.domain.sentiment import EMOTIONS

MemoryKind = Literal["event", "preference", "relationship", "significant"]

KINDS: tuple[str, ...] = get_args(MemoryKind)
MAX_MEMORY_TEXT_CHARS = 300
MAX_KEY_PART_CHARS = 100
MAX_TAGS = 10
MAX_TAG_CHARS = 40


def normalise_value(value: str) -> str:
    """The form two statements of a fact are compared in (case, width and spaces ignored)."""
    return " ".join(normalise(value).split())


def key_text(key: Sequence[str]) -> str:
    """A key as one string (an index key and part of a memory's id)."""
    return json.dumps(list(key), ensure_ascii=False)


@dataclass(frozen=True)
class MemoryCandidate:
    """A fact an extractor found in one message, before the book decides what it means.

    `key` names what the fact is about (("pet", "cat", "name"), ("birthday",),
    ("likes", "coffee")); two candidates of one key are the same fact when
    their `value`s agree (a repeat) and a correction when they do not.
    `text` is the fact in a short normalised sentence, as a prompt shows it.
    """

    kind: MemoryKind
    key: tuple[str, ...]
    value: str
    text: str
    importance: float
    source_message_id: UUID
    extractor: str
    tags: tuple[str, ...] = ()
    emotion: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}")
        key = tuple(
            validation.text("key", normalise_value(part), max_length=MAX_KEY_PART_CHARS)
            for part in self.key
        )
        if not key:
            raise InvalidInput("key", "must name what the fact is about")
        object.__setattr__(self, "key", key)
        object.__setattr__(
            self, "text", validation.text("text", self.text, max_length=MAX_MEMORY_TEXT_CHARS)
        )
        object.__setattr__(
            self, "value", validation.text("value", self.value, max_length=MAX_MEMORY_TEXT_CHARS)
        )
        object.__setattr__(self, "importance", clamp_importance(self.importance))
        object.__setattr__(
            self, "extractor", validation.text("extractor", self.extractor, max_length=100)
        )
        tags = tuple(
            dict.fromkeys(normalise_value(tag)[:MAX_TAG_CHARS] for tag in self.tags if tag.strip())
        )
        object.__setattr__(self, "tags", tags[:MAX_TAGS])
        if self.emotion not in EMOTIONS:
            object.__setattr__(self, "emotion", None)

    @property
    def subject(self) -> str:
        return self.key[0]

    @property
    def index_text(self) -> str:
        """What the memory is found by: its text and its tags."""
        return " ".join((self.text, *self.tags))


@dataclass(frozen=True)
class Memory:
    """One live (or, in history, past) memory with its provenance."""

    memory_id: UUID
    kind: MemoryKind
    key: tuple[str, ...]
    value: str
    text: str
    importance: float
    tags: tuple[str, ...]
    emotion: str | None
    source_message_ids: tuple[UUID, ...]
    extractor: str
    recorded_at: datetime
    last_reinforced_at: datetime
    reinforcements: int
    horizon: Horizon
    expires_at: datetime | None
    lemmas: tuple[str, ...]
    supersedes: UUID | None

    @property
    def subject(self) -> str:
        return self.key[0]

    def is_live(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    def value_at(self, now: datetime) -> float:
        """What keeping this memory is worth now: importance × recency."""
        return self.importance * recency(self.last_reinforced_at, now)
