"""The facts memory rules find, and the shapes they are written down in.

A rule (English in memory_rules_en, Japanese in memory_rules_ja) matches a
sentence and yields `Fact`s built here, so that a fact has one key, one
importance and one set of bilingual tags whichever language it was said in:
a cat's name said in Japanese is found by a question in English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from companion.domain.memory_values import MemoryKind


@dataclass(frozen=True)
class Fact:
    kind: MemoryKind
    key: tuple[str, ...]
    value: str
    text: str
    importance: float
    tags: tuple[str, ...] = ()
    emotion: str | None = None


Rule = Callable[[str, date], Iterator[Fact]]


MAX_PHRASE_CHARS = 60


def title(name: str) -> str:
    return name[:1].upper() + name[1:]


def day_of_month(month: int | None, day: int) -> str | None:
    """A birthday's or anniversary's day as MM-DD (or --DD when the month is not said)."""
    if not 1 <= day <= 31 or (month is not None and not 1 <= month <= 12):
        return None
    return f"--{day:02d}" if month is None else f"{month:02d}-{day:02d}"


def next_weekday(today: date, weekday: int) -> date:
    ahead = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def taste(thing: str, value: str, text: str, language: str) -> Fact:
    """A like or a dislike; "cats" and "cat" are one key (the taste is the same)."""
    likes = value == "likes"
    tags = ("likes", "好き") if likes else ("dislikes", "嫌い")
    key = thing
    if language == "en" and len(key) > 3 and key.endswith("s") and not key.endswith("ss"):
        key = key[:-1]
    return Fact(
        "preference",
        ("taste", key),
        value,
        text,
        0.5 if likes else 0.55,
        (*tags, thing),
        "joy" if likes else None,
    )


PETS = {
    "cat": "猫",
    "kitten": "猫",
    "dog": "犬",
    "puppy": "犬",
    "hamster": "ハムスター",
    "rabbit": "うさぎ",
    "bunny": "うさぎ",
    "bird": "鳥",
    "parrot": "鳥",
    "fish": "魚",
    "turtle": "亀",
    "tortoise": "亀",
    "snake": "蛇",
    "lizard": "トカゲ",
    "ferret": "フェレット",
    "hedgehog": "ハリネズミ",
    "guinea pig": "モルモット",
}


def pet(species: str, name: str, text: str) -> Fact:
    japanese = PETS.get(species, species)
    return Fact(
        "relationship",
        ("pet", species, "name"),
        name,
        text,
        0.75,
        ("pet", "ペット", species, japanese, "name", "名前", name.lower()),
        "affection",
    )


def has_pet(species: str, text: str) -> Fact:
    """The user lives with an animal whose name was not said."""
    japanese = PETS.get(species, species)
    return Fact(
        "relationship",
        ("pet", species),
        "has",
        text,
        0.6,
        ("pet", "ペット", species, japanese),
        "affection",
    )


PEOPLE = {
    "mom": "母",
    "mum": "母",
    "mother": "母",
    "dad": "父",
    "father": "父",
    "sister": "姉妹",
    "brother": "兄弟",
    "best friend": "親友",
    "friend": "友達",
    "boss": "上司",
    "coworker": "同僚",
    "colleague": "同僚",
    "roommate": "ルームメイト",
    "girlfriend": "彼女",
    "boyfriend": "彼氏",
    "wife": "妻",
    "husband": "夫",
    "son": "息子",
    "daughter": "娘",
    "grandma": "祖母",
    "grandmother": "祖母",
    "grandpa": "祖父",
    "grandfather": "祖父",
    "teacher": "先生",
}


def person(relation: str, name: str, text: str) -> Fact:
    return Fact(
        "relationship",
        ("person", relation, "name"),
        name,
        text,
        0.7,
        ("person", relation, PEOPLE.get(relation, relation), "name", "名前", name.lower()),
    )


def birthday(day: str, text: str) -> Fact:
    return Fact(
        "significant",
        ("birthday",),
        day,
        text,
        0.9,
        ("birthday", "誕生日", "date", "born", "生まれる", day),
        "joy",
    )


def plan(day: date, what: str, text: str) -> Fact:
    return Fact(
        "event",
        ("plan", day.isoformat(), what),
        what,
        text,
        0.5,
        ("plan", "予定", day.isoformat()),
        "excitement",
    )


def shorten(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
