"""Life events in a user's message, in English and Japanese: a new job, moving, a
breakup, an exam, an illness, a loss…, each with its importance and feeling.

An event is the user's own unless the sentence puts someone else before it
("my friend got a new job", 友達が転職した); an illness or a loss among the
user's people matters to the user whoever it befalls, so those are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from companion.domain.memory_facts import PEOPLE, Fact, shorten
from companion.domain.memory_rules_ja import JA_PEOPLE

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
        re.compile(r"\b(?:got fired|lost my job|was laid off|got laid off|quit my job|resigned)\b"),
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
        re.compile(r"\b(?:passed (?:my|the) (?:\w+ )?(?:exam|test)|got accepted|got into)\b"),
        0.8,
        "joy",
        ("exam", "合格"),
    ),
)


# Events that are news about the user only when the user is the one they happen to; an
# illness or a loss among the user's people matters to the user whoever it befalls.
_OTHERS_MAY_HAVE = frozenset({"illness", "loss"})


_EN_SOMEONE_ELSE = re.compile(
    r"\b(?:he|she|they|his|her|their|my\s+(?:\w+\s+)?(?:"
    + "|".join(sorted(PEOPLE, key=len, reverse=True))
    + r"|cousin|aunt|uncle|neighbou?r|partner))\b"
)


def en_life_event(text: str, today: date) -> Iterator[Fact]:
    lowered = text.lower()
    for name, pattern, importance, emotion, tags in _EN_LIFE_EVENTS:
        if m := pattern.search(lowered):
            before = lowered[: m.start()]
            if name not in _OTHERS_MAY_HAVE and _EN_SOMEONE_ELSE.search(before):
                return
            said = shorten(text)
            yield Fact(
                "significant" if importance >= 0.8 else "event",
                ("life", name, today.isoformat()),
                name,
                f"Life event ({name}, {today.isoformat()}): {said}",
                importance,
                ("life", *tags),
                emotion,
            )
            return


_JA_LIFE_EVENTS: tuple[tuple[str, re.Pattern[str], float, str | None, tuple[str, ...]], ...] = (
    (
        "new job",
        re.compile(r"転職|新しい仕事|就職|内定|採用され"),
        0.8,
        "excitement",
        ("job", "仕事", "転職"),
    ),
    ("promotion", re.compile(r"昇進|出世"), 0.8, "joy", ("job", "仕事", "昇進")),
    (
        "lost job",
        re.compile(r"クビ|解雇|失業|リストラ|退職|(?:会社|仕事|バイト)を辞め"),
        0.85,
        "sadness",
        ("job", "仕事", "失業"),
    ),
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


_JA_SOMEONE_ELSE = re.compile(
    r"(?:彼|彼女|あの人|"
    + "|".join(sorted(JA_PEOPLE, key=len, reverse=True))
    + r"|いとこ|叔母|叔父|おば|おじ|近所の人)(?:が|は|も)"
)


def ja_life_event(text: str, today: date) -> Iterator[Fact]:
    for name, pattern, importance, emotion, tags in _JA_LIFE_EVENTS:
        if m := pattern.search(text):
            if name not in _OTHERS_MAY_HAVE and _JA_SOMEONE_ELSE.search(text[: m.start()]):
                return
            yield Fact(
                "significant" if importance >= 0.8 else "event",
                ("life", name, today.isoformat()),
                name,
                f"出来事（{name}、{today.isoformat()}）：{shorten(text)}",
                importance,
                ("life", *tags),
                emotion,
            )
            return
