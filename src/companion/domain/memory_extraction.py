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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from uuid import UUID

from companion.domain.errors import InvalidInput
from companion.domain.lemmas import normalise
from companion.domain.memory import MemoryCandidate, MemoryKind

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


@dataclass(frozen=True)
class _Fact:
    kind: MemoryKind
    key: tuple[str, ...]
    value: str
    text: str
    importance: float
    tags: tuple[str, ...] = ()
    emotion: str | None = None


Rule = Callable[[str, date], Iterator[_Fact]]
MAX_PHRASE_CHARS = 60


# -- shared pieces -----------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?。！？\n]+")
_EN_PHRASE_END = re.compile(
    r"\s*(?:,|;|:|\.|!|\?|\bbut\b|\bbecause\b|\bthough\b|\bso\b|\band i\b|\bsince\b).*$"
)
_EN_LEADING = re.compile(r"^(?:the|a|an|my|some|all|of)\s+")
_EN_TRAILING = re.compile(
    r"\s+(?:a lot|so much|very much|too|as well|anymore|any more|at all|now|lately|"
    r"these days|honestly|really|though|tho|either|haha|lol|originally|right now)$"
)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _en_phrase(raw: str) -> str | None:
    """The object of an English statement: up to a comma or a conjunction, articles trimmed."""
    phrase = _EN_PHRASE_END.sub("", raw.strip().lower()).strip(" '\"")
    for _ in range(3):
        phrase = _EN_TRAILING.sub("", _EN_LEADING.sub("", phrase)).strip()
    if not phrase or len(phrase) > MAX_PHRASE_CHARS or len(phrase.split()) > 6:
        return None
    return phrase


def _title(name: str) -> str:
    return name[:1].upper() + name[1:]


_JA_NAME = r"([ァ-ヶー]{1,12}|[ぁ-ゖ]{2,8}|[一-龥々]{1,6}|[A-Za-z][A-Za-z\-]{0,20})"
_JA_PHRASE = r"([^、。！？!?\s]{1,30}?)"
_JA_TOPIC = re.compile(r"^(?:.*(?:は|も|、|って))?(?:私|僕|俺|わたし|あたし|うち)?(?:の|は)?")
_JA_TRAILING = re.compile(r"(?:のこと|とか|など|なんか|って)$")


def _ja_phrase(raw: str) -> str | None:
    """The object of a Japanese statement: after the topic (…は, …、), before the particle."""
    phrase = _JA_TOPIC.sub("", raw)
    phrase = _JA_TRAILING.sub("", phrase).strip()
    if not phrase or len(phrase) > 20:
        return None
    return phrase


# -- dates -----------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = (
    r"(january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_JA_WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")


def _day_of_month(month: int | None, day: int) -> str | None:
    """A birthday's or anniversary's day as MM-DD (or --DD when the month is not said)."""
    if not 1 <= day <= 31 or (month is not None and not 1 <= month <= 12):
        return None
    return f"--{day:02d}" if month is None else f"{month:02d}-{day:02d}"


def _en_date(phrase: str) -> str | None:
    phrase = phrase.lower()
    if m := re.search(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}\b", phrase):
        return _day_of_month(_MONTHS[m.group(1)], int(m.group(2)))
    if m := re.search(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}\b", phrase):
        return _day_of_month(_MONTHS[m.group(2)], int(m.group(1)))
    if m := re.search(r"\b(\d{1,2})/(\d{1,2})\b", phrase):
        return _day_of_month(int(m.group(1)), int(m.group(2)))
    if m := re.search(rf"\bthe\s+{_DAY}\b", phrase):
        return _day_of_month(None, int(m.group(1)))
    return None


def _ja_date(phrase: str) -> str | None:
    if m := re.search(r"(\d{1,2})月(\d{1,2})日", phrase):
        return _day_of_month(int(m.group(1)), int(m.group(2)))
    if m := re.search(r"(\d{1,2})/(\d{1,2})", phrase):
        return _day_of_month(int(m.group(1)), int(m.group(2)))
    if m := re.search(r"(\d{1,2})日", phrase):
        return _day_of_month(None, int(m.group(1)))
    return None


def _next_weekday(today: date, weekday: int) -> date:
    ahead = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


_EN_WHEN = (
    r"(tomorrow|tonight|today|this weekend|next weekend|next week|next month|"
    r"(?:on |this |next )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))"
)


def _en_when(when: str, today: date) -> date:
    when = when.lower().strip()
    if when in ("today", "tonight"):
        return today
    if when == "tomorrow":
        return today + timedelta(days=1)
    if when in ("this weekend", "next weekend"):
        saturday = _next_weekday(today - timedelta(days=1), 5)
        return saturday + timedelta(days=7 if when == "next weekend" else 0)
    if when == "next week":
        return _next_weekday(today, 0)
    if when == "next month":
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    day = when.split()[-1]
    return _next_weekday(today, _WEEKDAYS.index(day))


_JA_WHEN = (
    r"(明後日|あさって|明日|あした|今夜|今晩|今日|今週末|週末|来週末|来週|来月|"
    r"([月火水木金土日])曜日?|(\d{1,2})月(\d{1,2})日)"
)


def _ja_when(match: re.Match[str], today: date) -> date:
    when = match.group(1)
    if when in ("今日", "今夜", "今晩"):
        return today
    if when in ("明日", "あした"):
        return today + timedelta(days=1)
    if when in ("明後日", "あさって"):
        return today + timedelta(days=2)
    if when in ("今週末", "週末"):
        return _next_weekday(today - timedelta(days=1), 5)
    if when == "来週末":
        return _next_weekday(today - timedelta(days=1), 5) + timedelta(days=7)
    if when == "来週":
        return _next_weekday(today, 0)
    if when == "来月":
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    if match.group(2):
        return _next_weekday(today, _JA_WEEKDAYS.index(match.group(2)))
    month, day = int(match.group(3)), int(match.group(4))
    try:
        planned = date(today.year, month, day)
    except ValueError:
        return today
    return planned if planned >= today else date(today.year + 1, month, day)


# -- English rules -------------------------------------------------------------------------

_EN_LIKE = re.compile(
    r"\bi(?: really| absolutely| just| also| totally)?\s+(?:love|like|adore|enjoy|am into|'m into|"
    r"am a fan of|'m a fan of|am crazy about|'m crazy about)\s+(.+)",
)
_EN_DISLIKE = re.compile(
    r"\bi(?: really| just| also| totally)?\s+(?:hate|dislike|can't stand|cannot stand|"
    r"can not stand|don't like|do not like|don't really like|am not into|'m not into|"
    r"am not a fan of|'m not a fan of|detest)\s+(.+)",
)
_EN_FAVOURITE = re.compile(r"\bmy\s+favou?rite\s+([a-z ]{2,30}?)\s+is\s+(.+)")


def en_likes(text: str, today: date) -> Iterator[_Fact]:
    lowered = text.lower()
    if m := _EN_DISLIKE.search(lowered):
        if thing := _en_phrase(m.group(1)):
            yield _taste(thing, "dislikes", f"The user dislikes {thing}", "en")
        return
    m = _EN_LIKE.search(lowered)
    thing = _en_phrase(m.group(1)) if m else None
    if thing and not thing.startswith(("to be ", "it", "that")):
        yield _taste(thing, "likes", f"The user likes {thing}", "en")
    if m := _EN_FAVOURITE.search(lowered):
        what, thing = m.group(1).strip(), _en_phrase(m.group(2))
        if thing:
            yield _Fact(
                "preference",
                ("favourite", what),
                thing,
                f"The user's favourite {what} is {thing}",
                0.6,
                ("favourite", "好き", what),
                "joy",
            )


def _taste(thing: str, value: str, text: str, language: str) -> _Fact:
    likes = value == "likes"
    tags = ("likes", "好き") if likes else ("dislikes", "嫌い")
    return _Fact(
        "preference",
        ("taste", thing),
        value,
        text,
        0.5 if likes else 0.55,
        (*tags, thing),
        "joy" if likes else None,
    )


_PETS = {
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
_EN_PET = "(" + "|".join(sorted(_PETS, key=len, reverse=True)) + ")"
_EN_NAME = r"([a-z][a-z\-']{0,20})"
_EN_PET_PATTERNS = (
    re.compile(rf"\bmy\s+{_EN_PET}(?:'s name)?\s+is\s+(?:called|named)\s+{_EN_NAME}"),
    re.compile(rf"\bmy\s+{_EN_PET}'s\s+name\s+is\s+{_EN_NAME}"),
    re.compile(
        rf"\b(?:i have|i've got|i got|we have|i adopted)\s+an?\s+{_EN_PET}\s+"
        rf"(?:called|named)\s+{_EN_NAME}"
    ),
    re.compile(rf"\bmy\s+{_EN_PET},\s+{_EN_NAME},"),
)
_NOT_NAMES = frozenset({"a", "an", "the", "so", "very", "really", "my", "not", "sick", "sad"})


def en_pet_name(text: str, today: date) -> Iterator[_Fact]:
    lowered = text.lower()
    for pattern in _EN_PET_PATTERNS:
        if (m := pattern.search(lowered)) and m.group(2) not in _NOT_NAMES:
            species = (
                "cat" if m.group(1) == "kitten" else "dog" if m.group(1) == "puppy" else m.group(1)
            )
            name = _title(m.group(2))
            yield _pet(species, name, f"The user's {species} is called {name}")
            return


def _pet(species: str, name: str, text: str) -> _Fact:
    japanese = _PETS.get(species, species)
    return _Fact(
        "relationship",
        ("pet", species, "name"),
        name,
        text,
        0.75,
        ("pet", "ペット", species, japanese, "name", "名前", name.lower()),
        "affection",
    )


_PEOPLE = {
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
_EN_PERSON = "(" + "|".join(sorted(_PEOPLE, key=len, reverse=True)) + ")"
_EN_PERSON_PATTERNS = (
    re.compile(
        rf"\bmy\s+(?:older |younger |little |big |new )?{_EN_PERSON}(?:'s name)?\s+is\s+"
        rf"(?:called|named)\s+{_EN_NAME}"
    ),
    re.compile(
        rf"\bmy\s+(?:older |younger |little |big |new )?{_EN_PERSON}'s\s+name\s+is\s+"
        rf"{_EN_NAME}"
    ),
    re.compile(
        rf"\bmy\s+(?:older |younger |little |big |new )?{_EN_PERSON},?\s+"
        rf"(?!is\b|was\b|and\b|has\b|had\b|will\b|said\b|says\b|told\b|just\b){_EN_NAME},"
    ),
)


def en_person_name(text: str, today: date) -> Iterator[_Fact]:
    lowered = text.lower()
    for pattern in _EN_PERSON_PATTERNS:
        if (m := pattern.search(lowered)) and m.group(2) not in _NOT_NAMES:
            relation = {"mum": "mom", "mother": "mom", "father": "dad"}.get(m.group(1), m.group(1))
            name = _title(m.group(2))
            yield _person(relation, name, f"The user's {relation} is called {name}")
            return


def _person(relation: str, name: str, text: str) -> _Fact:
    return _Fact(
        "relationship",
        ("person", relation, "name"),
        name,
        text,
        0.7,
        ("person", relation, _PEOPLE.get(relation, relation), "name", "名前", name.lower()),
    )


_EN_BIRTHDAY = re.compile(r"\bmy\s+birthday\s+(?:is|was|falls on)\s+(?:on\s+)?(.+)")


def en_birthday(text: str, today: date) -> Iterator[_Fact]:
    if (m := _EN_BIRTHDAY.search(text.lower())) and (day := _en_date(m.group(1))):
        yield _birthday(day, f"The user's birthday is {_say_day(day)}")


_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _say_day(day: str) -> str:
    if day.startswith("--"):
        return f"the {_ordinal(int(day[2:]))}"
    return f"{_MONTH_NAMES[int(day[:2]) - 1]} {_ordinal(int(day[3:]))}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _birthday(day: str, text: str) -> _Fact:
    return _Fact(
        "significant",
        ("birthday",),
        day,
        text,
        0.9,
        ("birthday", "誕生日", "date", day),
        "joy",
    )


_EN_PLAN_PATTERNS = (
    re.compile(
        rf"\b{_EN_WHEN}\s*,?\s*i(?:'m| am| will|'ll|'m going to| am going to| plan to| have to|"
        rf"'m gonna| am gonna| need to| have)\s+(.+)"
    ),
    re.compile(
        r"\bi(?:'m going to| am going to| will|'ll| plan to| have to|'m gonna| am gonna|"
        r" need to| have| have got|'ve got|(?='m \w+ing\b)'m|(?= am \w+ing\b) am)\s+(.+?)\s+"
        rf"{_EN_WHEN}\b"
    ),
)


def en_plan(text: str, today: date) -> Iterator[_Fact]:
    lowered = text.lower()
    for number, pattern in enumerate(_EN_PLAN_PATTERNS):
        if m := pattern.search(lowered):
            when, what = (m.group(1), m.group(2)) if number == 0 else (m.group(2), m.group(1))
            clause = _EN_PHRASE_END.sub("", what).strip()
            what = _en_phrase(what.removeprefix("going to ").removeprefix("gonna "))
            if not what or what.startswith(("be ", "feel", "sleep", "try")):
                return
            day = _en_when(when, today)
            said = f"The user's plan for {day.isoformat()} ({when}): {clause}"
            yield _plan(day, what, said)
            return


def _plan(day: date, what: str, text: str) -> _Fact:
    return _Fact(
        "event",
        ("plan", day.isoformat(), what),
        what,
        text,
        0.5,
        ("plan", "予定", day.isoformat()),
        "excitement",
    )


_EN_LIFE_EVENTS: tuple[tuple[str, re.Pattern[str], float, str | None, tuple[str, ...]], ...] = (
    (
        "new job",
        re.compile(
            r"\b(?:got|found|start(?:ed|ing)?|landed) (?:a |my )?new job\b|"
            r"\bgot (?:the|a) job\b|\bgot hired\b|\bchanged jobs\b"
        ),
        0.8,
        "excitement",
        ("job", "仕事", "転職"),
    ),
    (
        "promotion",
        re.compile(r"\bgot promoted\b|\bgot a promotion\b"),
        0.8,
        "joy",
        ("job", "仕事", "昇進"),
    ),
    (
        "lost job",
        re.compile(r"\b(?:got fired|lost my job|was laid off|got laid off)\b"),
        0.85,
        "sadness",
        ("job", "仕事", "失業"),
    ),
    (
        "moving",
        re.compile(
            r"\b(?:i'm moving|i am moving|we're moving|moving house|moving out|"
            r"i moved|we moved|just moved)\b"
        ),
        0.75,
        None,
        ("moving", "引っ越し", "home"),
    ),
    (
        "breakup",
        re.compile(r"\b(?:broke up|break up|breakup|dumped me|we split up)\b"),
        0.85,
        "sadness",
        ("breakup", "別れ", "失恋"),
    ),
    (
        "exam",
        re.compile(r"\b(?:exams?|finals|midterms?|entrance test|big test)\b"),
        0.65,
        "worry",
        ("exam", "試験", "テスト"),
    ),
    (
        "interview",
        re.compile(r"\b(?:job interview|interview)\b"),
        0.65,
        "worry",
        ("interview", "面接"),
    ),
    (
        "illness",
        re.compile(
            r"\b(?:i'm sick|i am sick|got sick|i have (?:a )?(?:cold|the flu|"
            r"fever)|in (?:the )?hospital|surgery|i'm ill|i am ill)\b"
        ),
        0.7,
        "worry",
        ("illness", "病気", "health"),
    ),
    (
        "graduation",
        re.compile(r"\b(?:graduat(?:e|ed|ing|ion))\b"),
        0.8,
        "joy",
        ("graduation", "卒業"),
    ),
    (
        "wedding",
        re.compile(r"\b(?:got engaged|getting married|got married|wedding)\b"),
        0.85,
        "joy",
        ("wedding", "結婚"),
    ),
    ("loss", re.compile(r"\b(?:passed away|died)\b"), 0.9, "sadness", ("loss", "亡くなった")),
    (
        "pass",
        re.compile(r"\b(?:passed (?:my|the) (?:exam|test)|got accepted|got into)\b"),
        0.8,
        "joy",
        ("exam", "合格"),
    ),
)


def en_life_event(text: str, today: date) -> Iterator[_Fact]:
    lowered = text.lower()
    for name, pattern, importance, emotion, tags in _EN_LIFE_EVENTS:
        if pattern.search(lowered):
            said = _shorten(text)
            yield _Fact(
                "significant" if importance >= 0.8 else "event",
                ("life", name, today.isoformat()),
                name,
                f"Life event ({name}, {today.isoformat()}): {said}",
                importance,
                ("life", *tags),
                emotion,
            )
            return


def _shorten(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_EN_JOB = (
    re.compile(r"\bi\s+work\s+as\s+(?:an?\s+)?(.+)"),
    re.compile(r"\bmy\s+job\s+is\s+(?:being\s+)?(?:an?\s+)?(.+)"),
    re.compile(
        r"\bi(?:'m| am)\s+an?\s+((?:[a-z]+\s+)?(?:[a-z]+(?:er|or|ist|ian|ant|ent|"
        r"nurse|chef|cook|doctor|student|engineer|designer|clerk|lawyer|barista)))\b"
        r"(?:\s+(?:at|in|for|by)\b|$|[,.!])"
    ),
)
_EN_WORKPLACE = re.compile(r"\bi\s+work\s+(?:at|for|in)\s+(.+)")
_NOT_JOBS = frozenset({"little", "bit", "lot", "fan", "big fan", "number", "together"})


def en_job(text: str, today: date) -> Iterator[_Fact]:
    lowered = text.lower()
    for pattern in _EN_JOB:
        if (m := pattern.search(lowered)) and (job := _en_phrase(m.group(1))):
            job = re.sub(r"\s+(?:at|in|for)\s+.*$", "", job)
            if job not in _NOT_JOBS:
                yield _Fact(
                    "relationship",
                    ("job",),
                    job,
                    f"The user works as {_a(job)}",
                    0.7,
                    ("job", "仕事", "work", job),
                )
            break
    if (m := _EN_WORKPLACE.search(lowered)) and (place := _en_phrase(m.group(1))):
        yield _Fact(
            "relationship",
            ("workplace",),
            place,
            f"The user works at {place}",
            0.6,
            ("job", "仕事", "work", "職場"),
        )


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


_EN_HOME = re.compile(r"\bi\s+(?:live|am living|'m living)\s+in\s+(.+)")
_EN_FROM = re.compile(r"\bi(?:'m| am)\s+(?:originally\s+)?from\s+(.+)|\bi\s+grew\s+up\s+in\s+(.+)")
_EN_MOVED_TO = re.compile(r"\b(?:moved|moving)\s+to\s+(.+)")


def en_place(text: str, today: date) -> Iterator[_Fact]:
    lowered = text.lower()
    m = _EN_HOME.search(lowered) or _EN_MOVED_TO.search(lowered)
    place = _en_phrase(m.group(1)) if m else None
    if place and not place.startswith(("a ", "the ")):
        yield _Fact(
            "relationship",
            ("home",),
            place,
            f"The user lives in {_title(place)}",
            0.65,
            ("home", "住んでいる", "place", place),
        )
    if (m := _EN_FROM.search(lowered)) and (place := _en_phrase(m.group(1) or m.group(2))):
        yield _Fact(
            "relationship",
            ("hometown",),
            place,
            f"The user is from {_title(place)}",
            0.6,
            ("hometown", "出身", "place", place),
        )


_EN_OWN_NAME = re.compile(r"\b(?:my name is|call me|my name's)\s+([a-z][a-z\-']{0,20})\b")


def en_own_name(text: str, today: date) -> Iterator[_Fact]:
    if (m := _EN_OWN_NAME.search(text.lower())) and m.group(1) not in _NOT_NAMES:
        name = _title(m.group(1))
        yield _Fact(
            "relationship",
            ("user", "name"),
            name,
            f"The user's name is {name}",
            0.8,
            ("name", "名前", name.lower()),
        )


# -- Japanese rules ------------------------------------------------------------------------

_JA_LIKE = re.compile(
    _JA_PHRASE + r"(?:が|も|は)(大好き|好き|嫌い|大嫌い|苦手)(じゃない|ではない|じゃなかった)?"
)


def ja_likes(text: str, today: date) -> Iterator[_Fact]:
    for m in _JA_LIKE.finditer(text):
        thing = _ja_phrase(m.group(1))
        if not thing or thing in ("何", "誰", "どれ", "これ", "それ", "あれ", "こと"):
            continue
        positive = m.group(2) in ("大好き", "好き")
        if m.group(3):
            positive = not positive
        if positive:
            yield _taste(thing, "likes", f"ユーザーは{thing}が好き", "ja")
        else:
            yield _taste(thing, "dislikes", f"ユーザーは{thing}が苦手", "ja")
        return


_JA_PETS = {
    "猫": "cat",
    "ねこ": "cat",
    "ネコ": "cat",
    "子猫": "cat",
    "犬": "dog",
    "いぬ": "dog",
    "イヌ": "dog",
    "ワンちゃん": "dog",
    "子犬": "dog",
    "ハムスター": "hamster",
    "うさぎ": "rabbit",
    "ウサギ": "rabbit",
    "兎": "rabbit",
    "インコ": "bird",
    "鳥": "bird",
    "金魚": "fish",
    "亀": "turtle",
    "カメ": "turtle",
    "フェレット": "ferret",
    "ハリネズミ": "hedgehog",
}
_JA_PET = "(" + "|".join(sorted(_JA_PETS, key=len, reverse=True)) + ")"
_JA_PET_PATTERNS = (
    re.compile(
        _JA_PET + r"の名前は" + _JA_NAME + r"(?:って|だ|です|。|！|、|$|なの|よ|ちゃん|くん)"
    ),
    re.compile(
        _JA_PET
        + r"(?:は|を飼っていて|を飼ってて)、?(?:名前は)?"
        + _JA_NAME
        + r"(?:って(?:いう|言う|名前)|という名前|ちゃん|くん)"
    ),
    re.compile(_JA_NAME + r"(?:って|という)(?:名前の)?" + _JA_PET + r"(?:を|が|と|も)"),
)


def ja_pet_name(text: str, today: date) -> Iterator[_Fact]:
    for number, pattern in enumerate(_JA_PET_PATTERNS):
        if m := pattern.search(text):
            pet, name = (m.group(2), m.group(1)) if number == 2 else (m.group(1), m.group(2))
            species = _JA_PETS[pet]
            if name in ("何", "なん", "まだ", "とても", "すごく"):
                return
            yield _pet(species, name, f"ユーザーの{_PETS.get(species, pet)}の名前は{name}")
            return


_JA_PEOPLE = {
    "母": "mom",
    "お母さん": "mom",
    "ママ": "mom",
    "父": "dad",
    "お父さん": "dad",
    "パパ": "dad",
    "姉": "sister",
    "お姉ちゃん": "sister",
    "妹": "sister",
    "兄": "brother",
    "お兄ちゃん": "brother",
    "弟": "brother",
    "親友": "best friend",
    "友達": "friend",
    "友だち": "friend",
    "上司": "boss",
    "同僚": "coworker",
    "彼女": "girlfriend",
    "彼氏": "boyfriend",
    "妻": "wife",
    "夫": "husband",
    "息子": "son",
    "娘": "daughter",
    "祖母": "grandma",
    "おばあちゃん": "grandma",
    "祖父": "grandpa",
    "おじいちゃん": "grandpa",
    "先生": "teacher",
}
_JA_PERSON = "(" + "|".join(sorted(_JA_PEOPLE, key=len, reverse=True)) + ")"
_JA_PERSON_PATTERNS = (
    re.compile(_JA_PERSON + r"の名前は" + _JA_NAME + r"(?:って|だ|です|。|！|、|$|なの|よ)"),
    re.compile(_JA_NAME + r"(?:って|という)(?:名前の)?" + _JA_PERSON + r"(?:が|を|と|は|に)"),
)


def ja_person_name(text: str, today: date) -> Iterator[_Fact]:
    for number, pattern in enumerate(_JA_PERSON_PATTERNS):
        if m := pattern.search(text):
            who, name = (m.group(2), m.group(1)) if number == 1 else (m.group(1), m.group(2))
            relation = _JA_PEOPLE[who]
            yield _person(relation, name, f"ユーザーの{who}の名前は{name}")
            return


_JA_BIRTHDAY = re.compile(r"誕生日(?:は|が)(.{0,12}?日)")


def ja_birthday(text: str, today: date) -> Iterator[_Fact]:
    if (m := _JA_BIRTHDAY.search(text)) and (day := _ja_date(m.group(1))):
        said = (
            f"{int(day[:2])}月{int(day[3:])}日" if not day.startswith("--") else f"{int(day[2:])}日"
        )
        yield _birthday(day, f"ユーザーの誕生日は{said}")


_JA_PLAN = re.compile(
    _JA_WHEN + r"(?:は|に|の)?、?(.{1,30}?)(?:に行く|へ行く|行く|する|します|予定|つもり|"
    r"があ|がある|なんだ|です|なの|行きます|に行きます)"
)


def ja_plan(text: str, today: date) -> Iterator[_Fact]:
    if m := _JA_PLAN.search(text):
        what = m.group(5).strip("、 ")
        what = re.sub(r"^(?:私|僕|俺|わたし)(?:は|も)", "", what)
        if not what or len(what) > 30:
            return
        day = _ja_when(m, today)
        when = m.group(1)
        yield _plan(day, what, f"ユーザーの予定（{day.isoformat()}、{when}）：{what}")


_JA_LIFE_EVENTS: tuple[tuple[str, re.Pattern[str], float, str | None, tuple[str, ...]], ...] = (
    (
        "new job",
        re.compile(r"転職|新しい仕事|就職|内定|採用され"),
        0.8,
        "excitement",
        ("job", "仕事", "転職"),
    ),
    ("promotion", re.compile(r"昇進|出世"), 0.8, "joy", ("job", "仕事", "昇進")),
    ("lost job", re.compile(r"クビ|解雇|失業|リストラ"), 0.85, "sadness", ("job", "仕事", "失業")),
    (
        "moving",
        re.compile(r"引っ越し|引っ越す|引っ越した|引越"),
        0.75,
        None,
        ("moving", "引っ越し", "home"),
    ),
    (
        "breakup",
        re.compile(r"別れた|別れる|振られ|失恋"),
        0.85,
        "sadness",
        ("breakup", "別れ", "失恋"),
    ),
    ("exam", re.compile(r"試験|テスト|受験|検定"), 0.65, "worry", ("exam", "試験", "テスト")),
    ("interview", re.compile(r"面接"), 0.65, "worry", ("interview", "面接")),
    (
        "illness",
        re.compile(r"病気|入院|風邪|熱が|手術|体調が悪"),
        0.7,
        "worry",
        ("illness", "病気", "health"),
    ),
    ("graduation", re.compile(r"卒業"), 0.8, "joy", ("graduation", "卒業")),
    ("wedding", re.compile(r"結婚|婚約"), 0.85, "joy", ("wedding", "結婚")),
    ("loss", re.compile(r"亡くなっ|死んじゃ|死んだ"), 0.9, "sadness", ("loss", "亡くなった")),
    ("pass", re.compile(r"合格|受かった"), 0.8, "joy", ("exam", "合格")),
)


def ja_life_event(text: str, today: date) -> Iterator[_Fact]:
    for name, pattern, importance, emotion, tags in _JA_LIFE_EVENTS:
        if pattern.search(text):
            yield _Fact(
                "significant" if importance >= 0.8 else "event",
                ("life", name, today.isoformat()),
                name,
                f"出来事（{name}、{today.isoformat()}）：{_shorten(text)}",
                importance,
                ("life", *tags),
                emotion,
            )
            return


_JA_JOB = (
    re.compile(r"([^、。！？\s]{1,15}?)として働いて"),
    re.compile(r"仕事は([^、。！？\s]{1,15}?)(?:です|だよ|だ|で|。|$|をして|してる)"),
    re.compile(
        r"(?:私|僕|俺|わたし)は([^、。！？\s]{1,10}?(?:師|士|員|者|家|生|手|医|長|"
        r"エンジニア|デザイナー|プログラマー|ナース|シェフ|パティシエ))(?:です|だよ|をして|なんだ|なの)"
    ),
)
_JA_WORKPLACE = re.compile(r"([^、。！？\s]{1,15}?)で働いて")


def ja_job(text: str, today: date) -> Iterator[_Fact]:
    for pattern in _JA_JOB:
        if (m := pattern.search(text)) and (job := _ja_phrase(m.group(1))):
            yield _Fact(
                "relationship",
                ("job",),
                job,
                f"ユーザーの仕事は{job}",
                0.7,
                ("job", "仕事", "work", job),
            )
            break
    if (m := _JA_WORKPLACE.search(text)) and (place := _ja_phrase(m.group(1))):
        yield _Fact(
            "relationship",
            ("workplace",),
            place,
            f"ユーザーは{place}で働いている",
            0.6,
            ("job", "仕事", "work", "職場"),
        )


_JA_HOME = re.compile(r"([^、。！？\s]{1,15}?)に住んで")
_JA_FROM = re.compile(r"([^、。！？\s]{1,15}?)(?:出身|生まれ|育ち)")


def ja_place(text: str, today: date) -> Iterator[_Fact]:
    if (m := _JA_HOME.search(text)) and (place := _ja_phrase(m.group(1))):
        yield _Fact(
            "relationship",
            ("home",),
            place,
            f"ユーザーは{place}に住んでいる",
            0.65,
            ("home", "住んでいる", "place", place),
        )
    if (m := _JA_FROM.search(text)) and (place := _ja_phrase(m.group(1))):
        yield _Fact(
            "relationship",
            ("hometown",),
            place,
            f"ユーザーは{place}出身",
            0.6,
            ("hometown", "出身", "place", place),
        )


_JA_OWN_NAME = re.compile(
    r"(?:私|僕|俺|わたし)の名前は" + _JA_NAME + r"|" + _JA_NAME + r"って呼んで"
)


def ja_own_name(text: str, today: date) -> Iterator[_Fact]:
    if m := _JA_OWN_NAME.search(text):
        name = m.group(1) or m.group(2)
        yield _Fact(
            "relationship",
            ("user", "name"),
            name,
            f"ユーザーの名前は{name}",
            0.8,
            ("name", "名前", name),
        )


# -- the whole ----------------------------------------------------------------------------------

RULES: dict[str, Rule] = {
    "en_likes": en_likes,
    "en_pet_name": en_pet_name,
    "en_person_name": en_person_name,
    "en_birthday": en_birthday,
    "en_plan": en_plan,
    "en_life_event": en_life_event,
    "en_job": en_job,
    "en_place": en_place,
    "en_own_name": en_own_name,
    "ja_likes": ja_likes,
    "ja_pet_name": ja_pet_name,
    "ja_person_name": ja_person_name,
    "ja_birthday": ja_birthday,
    "ja_plan": ja_plan,
    "ja_life_event": ja_life_event,
    "ja_job": ja_job,
    "ja_place": ja_place,
    "ja_own_name": ja_own_name,
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
