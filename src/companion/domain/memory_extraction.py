"""What is worth remembering in a user's message: rules for Japanese and English, and
the port a model extractor implements.

Each rule is a small pattern with a name (the candidate's `extractor`,
"rule:<name>"); it finds a fact, names its key (what the fact is about) and
value, and writes the fact down as a short sentence in the message's
language, with tags in both languages so a question in either finds it.
Relative dates ("tomorrow", "来週") are resolved against `now`, so a plan is
remembered with its day. Rules are deliberately conservative: a missed fact
costs less than a wrong one.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol
from uuid import UUID

from companion.domain import memory_life_events as life
from companion.domain import memory_rules_en as en
from companion.domain import memory_rules_ja as ja
from companion.domain.errors import InvalidInput
from companion.domain.lemmas import normalise
from companion.domain.memory_facts import Rule
from companion.domain.memory_values import MemoryCandidate

__all__ = [
    "RULES",
    "MemoryCandidate",
    "MemoryExtractor",
    "extract_memories",
]


class MemoryExtractor(Protocol):
    """Finds memories in a user's message, e.g. a model asked for structured JSON.

    It never raises for what the model says: an answer it cannot read yields
    no candidates. Each candidate's `extractor` names it ("model:<name>").
    """

    def extract(self, text: str, *, message_id: UUID, now: datetime) -> list[MemoryCandidate]: ...


_SENTENCE_END = re.compile(r"[.!?。！？\n]+")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


RULES: dict[str, Rule] = {
    "en_likes": en.en_likes,
    "en_pet_name": en.en_pet_name,
    "en_person_name": en.en_person_name,
    "en_birthday": en.en_birthday,
    "en_plan": en.en_plan,
    "en_life_event": life.en_life_event,
    "en_job": en.en_job,
    "en_place": en.en_place,
    "en_own_name": en.en_own_name,
    "ja_likes": ja.ja_likes,
    "ja_pet_name": ja.ja_pet_name,
    "ja_person_name": ja.ja_person_name,
    "ja_birthday": ja.ja_birthday,
    "ja_plan": ja.ja_plan,
    "ja_life_event": life.ja_life_event,
    "ja_job": ja.ja_job,
    "ja_place": ja.ja_place,
    "ja_own_name": ja.ja_own_name,
}
"""Every rule by name; a candidate's extractor is "rule:<name>"."""


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def extract_memories(text: str, *, message_id: UUID, now: datetime) -> list[MemoryCandidate]:
    """The facts the rules find in a user's message, one per key, in the rules' order.

    Pure: the same text, id and moment give the same candidates.
    """
    today = now.date()
    language = "ja" if _JAPANESE.search(text) else "en"
    candidates: dict[tuple[str, ...], MemoryCandidate] = {}
    for sentence in _sentences(normalise_width(text)):
        for name, rule in RULES.items():
            if not name.startswith(language):
                continue
            for fact in rule(sentence, today):
                if fact.key in candidates:
                    continue
                try:
                    candidates[fact.key] = MemoryCandidate(
                        kind=fact.kind,
                        key=fact.key,
                        value=fact.value,
                        text=fact.text,
                        importance=fact.importance,
                        source_message_id=message_id,
                        extractor=f"rule:{name}",
                        tags=fact.tags,
                        emotion=fact.emotion,
                    )
                except InvalidInput:
                    continue
    return list(candidates.values())


def normalise_width(text: str) -> str:
    """Full-width Latin letters and digits as plain ones; the rest as written."""
    return "".join(normalise(c) if "\uff01" <= c <= "\uff5e" else c for c in text)
