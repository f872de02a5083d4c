"""Memory rules for English messages: likes and dislikes, names of pets and people,
birthdays, plans, life events, the user's job, places and name.

Each rule takes one sentence and the day it was said (to resolve "tomorrow")
and yields the facts it finds; their names, "rule:en_<what>", are the
extractor of the memories they make.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

from companion.domain.memory_facts import (
    MAX_PHRASE_CHARS,
    PEOPLE,
    PETS,
    Fact,
    birthday,
    day_of_month,
    has_pet,
    next_weekday,
    person,
    pet,
    plan,
    taste,
    title,
)

_EN_PHRASE_END = re.compile(
    r"\s*(?:,|;|:|\.|!|\?|\bbut\b|\bbecause\b|\bthough\b|\bso\b|\band i\b|\bsince\b).*$"
)


_EN_LEADING = re.compile(r"^(?:the|a|an|my|some|all|of)\s+")


_EN_TRAILING = re.compile(
    r"\s+(?:a lot|so much|very much|too|as well|anymore|any more|at all|now|lately|"
    r"these days|honestly|really|though|tho|either|haha|lol|originally|right now|today|"
    r"tonight|tomorrow|yesterday|soon|next (?:week|month|year)|this (?:week|weekend|month)|"
    r"last (?:week|month|year))$"
)


def _en_phrase(raw: str) -> str | None:
    """The object of an English statement: up to a comma or a conjunction, articles trimmed."""
    phrase = _EN_PHRASE_END.sub("", raw.strip().lower()).strip(" '\"")
    for _ in range(3):
        phrase = _EN_TRAILING.sub("", _EN_LEADING.sub("", phrase)).strip()
    if not phrase or len(phrase) > MAX_PHRASE_CHARS or len(phrase.split()) > 6:
        return None
    return phrase


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


def _en_date(phrase: str) -> str | None:
    phrase = phrase.lower()
    if m := re.search(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}\b", phrase):
        return day_of_month(_MONTHS[m.group(1)], int(m.group(2)))
    if m := re.search(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}\b", phrase):
        return day_of_month(_MONTHS[m.group(2)], int(m.group(1)))
    if m := re.search(r"\b(\d{1,2})/(\d{1,2})\b", phrase):
        return day_of_month(int(m.group(1)), int(m.group(2)))
    if m := re.search(rf"\bthe\s+{_DAY}\b", phrase):
        return day_of_month(None, int(m.group(1)))
    return None


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
        saturday = next_weekday(today - timedelta(days=1), 5)
        return saturday + timedelta(days=7 if when == "next weekend" else 0)
    if when == "next week":
        return next_weekday(today, 0)
    if when == "next month":
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    day = when.split()[-1]
    return next_weekday(today, _WEEKDAYS.index(day))


_EN_LIKE = re.compile(
    r"\bi(?: really| absolutely| just| also| totally| still)?\s+(?:love|like|adore|enjoy)\s+(.+)"
    r"|\bi(?:'m| am)(?: really| totally| so| also)?\s+(?:into|an? (?:huge |big )?fan of|"
    r"crazy about|obsessed with)\s+(.+)",
)


_EN_DISLIKE = re.compile(
    r"\bi(?: really| just| also| totally)?\s+(?:hate|dislike|can't stand|cannot stand|"
    r"can not stand|don't like|do not like|don't really like|detest)\s+(.+)"
    r"|\bi(?:'m| am)(?: really)?\s+not\s+(?:into|an? (?:big )?fan of)\s+(.+)",
)
_NOT_TASTES = ("you", "him", "her", "them", "us", "me", "it", "that", "this", "to be ")


def _is_pronoun(thing: str) -> bool:
    """A like of "you" or "it" is about the talk, not a taste to remember."""
    return thing in _NOT_TASTES or thing.startswith(tuple(f"{p} " for p in _NOT_TASTES))


_EN_FAVOURITE = re.compile(r"\bmy\s+favou?rite\s+([a-z ]{2,30}?)\s+is\s+(.+)")


def en_likes(text: str, today: date) -> Iterator[Fact]:
    lowered = text.lower()
    if m := _EN_DISLIKE.search(lowered):
        thing = _en_phrase(m.group(1) or m.group(2))
        if thing and not _is_pronoun(thing):
            yield taste(thing, "dislikes", f"The user dislikes {thing}", "en")
        return
    m = _EN_LIKE.search(lowered)
    thing = _en_phrase(m.group(1) or m.group(2)) if m else None
    if thing and not _is_pronoun(thing):
        yield taste(thing, "likes", f"The user likes {thing}", "en")
    if m := _EN_FAVOURITE.search(lowered):
        what, thing = m.group(1).strip(), _en_phrase(m.group(2))
        if thing:
            yield Fact(
                "preference",
                ("favourite", what),
                thing,
                f"The user's favourite {what} is {thing}",
                0.6,
                ("favourite", "好き", what),
                "joy",
            )


_EN_PET = "(" + "|".join(sorted(PETS, key=len, reverse=True)) + ")"


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
# "my dog Rex is…": a capitalised word after the animal is its name (read on the text as written).
_EN_PET_THEN_NAME = re.compile(rf"\b[Mm]y\s+(?i:{_EN_PET})\s+([A-Z][a-z\-']{{1,20}})\b")
_EN_HAS_PET = re.compile(
    rf"\b(?:i have|i've got|i got|we have|i adopted|i own)\s+(?:an?|two|three|some)\s+"
    rf"{_EN_PET}s?\b(?!\s+(?:called|named))"
)


_NOT_NAMES = frozenset(
    """a an the so very really my not sick sad is was and has had will just who which that
    loves likes hates said says told got gets went goes can could would should did does
    and or but too also always never still""".split()  # noqa: SIM905 - a word list to read
)


def en_pet_name(text: str, today: date) -> Iterator[Fact]:
    lowered = text.lower()
    for pattern in _EN_PET_PATTERNS:
        if (m := pattern.search(lowered)) and m.group(2) not in _NOT_NAMES:
            species = _species(m.group(1))
            name = title(m.group(2))
            yield pet(species, name, f"The user's {species} is called {name}")
            return
    m = _EN_PET_THEN_NAME.search(text)
    if m and m.group(2).lower() not in _NOT_NAMES:
        species = _species(m.group(1).lower())
        yield pet(species, m.group(2), f"The user's {species} is called {m.group(2)}")
        return
    if m := _EN_HAS_PET.search(lowered):
        species = _species(m.group(1))
        yield has_pet(species, f"The user has a {species}")


def _species(said: str) -> str:
    return {"kitten": "cat", "puppy": "dog", "bunny": "rabbit"}.get(said, said)


_EN_PERSON = "(" + "|".join(sorted(PEOPLE, key=len, reverse=True)) + ")"


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
_EN_PERSON_THEN_NAME = re.compile(
    rf"\b[Mm]y\s+(?i:(?:older |younger |little |big |new )?{_EN_PERSON})\s+"
    rf"([A-Z][a-z\-']{{1,20}})\b"
)


def en_person_name(text: str, today: date) -> Iterator[Fact]:
    lowered = text.lower()
    for pattern in _EN_PERSON_PATTERNS:
        if (m := pattern.search(lowered)) and m.group(2) not in _NOT_NAMES:
            relation = {"mum": "mom", "mother": "mom", "father": "dad"}.get(m.group(1), m.group(1))
            name = title(m.group(2))
            yield person(relation, name, f"The user's {relation} is called {name}")
            return
    m = _EN_PERSON_THEN_NAME.search(text)
    if m and m.group(2).lower() not in _NOT_NAMES:
        relation = {"mum": "mom", "mother": "mom", "father": "dad"}.get(
            m.group(1).lower(), m.group(1).lower()
        )
        yield person(relation, m.group(2), f"The user's {relation} is called {m.group(2)}")


_EN_BIRTHDAY = re.compile(
    r"\bmy\s+birthday(?:'s|\s+is|\s+was|\s+falls on)\s+(?:on\s+)?(.+)|\bi\s+was\s+born\s+on\s+(.+)"
)
_EN_BIRTHDAY_IS = re.compile(r"\b(today|tomorrow)(?:'s| is)\s+my\s+birthday\b")


def en_birthday(text: str, today: date) -> Iterator[Fact]:
    lowered = text.lower()
    if (m := _EN_BIRTHDAY.search(lowered)) and (day := _en_date(m.group(1) or m.group(2))):
        yield birthday(day, f"The user's birthday is {_say_day(day)}")
    elif m := _EN_BIRTHDAY_IS.search(lowered):
        when = today + timedelta(days=1 if m.group(1) == "tomorrow" else 0)
        day = f"{when.month:02d}-{when.day:02d}"
        yield birthday(day, f"The user's birthday is {_say_day(day)}")


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


def en_plan(text: str, today: date) -> Iterator[Fact]:
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
            yield plan(day, what, said)
            return


_EN_JOB = (
    re.compile(r"\bi\s+work\s+as\s+(?:an?\s+)?(.+)"),
    re.compile(r"\bmy\s+job\s+is\s+(?:being\s+)?(?:an?\s+)?(.+)"),
    re.compile(
        r"\bi(?:'m| am)\s+an?\s+((?:[a-z]+\s+)?(?:[a-z]+(?:er|or|ist|ian|ant|ent)|"
        r"nurse|chef|cook|doctor|student|engineer|designer|clerk|lawyer|barista))\b"
        r"(?:\s+(?:at|in|for|by)\b|$|[,.!])"
    ),
)


_EN_WORKPLACE = re.compile(r"\bi\s+work\s+(?:at|for|in)\s+(.+)")


_NOT_JOBS = frozenset({"little", "bit", "lot", "fan", "big fan", "number", "together"})


def en_job(text: str, today: date) -> Iterator[Fact]:
    lowered = text.lower()
    for pattern in _EN_JOB:
        if (m := pattern.search(lowered)) and (job := _en_phrase(m.group(1))):
            job = re.sub(r"\s+(?:at|in|for)\s+.*$", "", job)
            if job not in _NOT_JOBS:
                yield Fact(
                    "relationship",
                    ("job",),
                    job,
                    f"The user works as {_a(job)}",
                    0.7,
                    ("job", "仕事", "work", "occupation", "職業", "living", job),
                )
            break
    if (m := _EN_WORKPLACE.search(lowered)) and (place := _en_phrase(m.group(1))):
        yield Fact(
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


def en_place(text: str, today: date) -> Iterator[Fact]:
    lowered = text.lower()
    m = _EN_HOME.search(lowered) or _EN_MOVED_TO.search(lowered)
    place = _en_phrase(m.group(1)) if m else None
    if place and not place.startswith(("a ", "the ")):
        yield Fact(
            "relationship",
            ("home",),
            place,
            f"The user lives in {title(place)}",
            0.65,
            ("home", "住んでいる", "place", place),
        )
    if (m := _EN_FROM.search(lowered)) and (place := _en_phrase(m.group(1) or m.group(2))):
        yield Fact(
            "relationship",
            ("hometown",),
            place,
            f"The user is from {title(place)}",
            0.6,
            ("hometown", "出身", "place", place),
        )


_EN_OWN_NAME = re.compile(r"\b(?:my name is|call me|my name's)\s+([a-z][a-z\-']{0,20})\b")


def en_own_name(text: str, today: date) -> Iterator[Fact]:
    if (m := _EN_OWN_NAME.search(text.lower())) and m.group(1) not in _NOT_NAMES:
        name = title(m.group(1))
        yield Fact(
            "relationship",
            ("user", "name"),
            name,
            f"The user's name is {name}",
            0.8,
            ("name", "名前", name.lower()),
        )
