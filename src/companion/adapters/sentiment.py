"""A lexicon sentiment scorer for English and Japanese, in pure Python.

Reads a message as a row of items: polar words and phrases, emoji and kaomoji
(with a valence and the emotions they express), boosters (very, とても) and
diminishers (a bit, ちょっと), negators (not, never; Japanese negation is the
〜ない/〜じゃない/〜くない/〜なかった/ません form right after the word), contrast
words (but, でも, けど: what follows weighs more) and laughter (lol, w, 笑).
English is split into words and phrases are matched longest-first; Japanese
has no spaces, so the lexicon is matched longest-first at each character.

The sum of the items' valences is squashed into [-1, 1]; the emotions are the
sum of what each counted item expresses. No model, no data files, no network:
the same text always gets the same `Sentiment`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

from companion.adapters import sentiment_lexicon as lex
from companion.domain.sentiment import EMOTIONS, Sentiment

# How far a sum of valences is from ±1: score = s / sqrt(s² + ALPHA).
ALPHA = 6.0
NEGATION_FLIP = -0.6
BEFORE_CONTRAST = 0.5
AFTER_CONTRAST = 1.5
EXCLAMATION_STEP = 0.3
QUESTION_DAMPING = 0.7
CAPS_BOOST = 1.25
TEASING_DAMPING = 0.25
EMOTION_FULL = 2.5
SECOND_EMOTION = 0.7
EMOTION_FLOOR = 0.1
EN_NEGATION_REACH = 3

_KAOMOJI_KEYS = sorted(lex.KAOMOJI, key=len, reverse=True)
_KAOMOJI = re.compile("|".join(re.escape(k) for k in _KAOMOJI_KEYS))
_PAREN_FACE = re.compile(r"\(([^()\s]{1,14})\)")
_CJK = re.compile(r"[\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_JA_NEGATION = re.compile(lex.JA_NEGATION)
_REPEATS = re.compile(r"(.)\1{2,}")
_LAUGH_WORD = re.compile(r"^(?:(?:ha){2,}h?|(?:he){2,}|(?:ah){2,}|l+o+l+|lmf?a+o+|w+|xd+)$")

_EN_KEYS = {**lex.EN_WORDS, **dict.fromkeys(lex.EN_BOOSTS), **dict.fromkeys(lex.EN_NEGATORS)}
_EN_MAX_WORDS = max(len(key.split()) for key in _EN_KEYS)
_JA_KEYS = {
    **dict.fromkeys(lex.JA_WORDS),
    **dict.fromkeys(lex.JA_BOOSTS),
    **dict.fromkeys(lex.JA_DUAL),
    **dict.fromkeys(lex.JA_CONTRASTS),
    **dict.fromkeys(lex.JA_LAUGHS),
}
_JA_MAX_CHARS = max(len(key) for key in _JA_KEYS)


@dataclass
class _Item:
    """One thing read in the message, in order."""

    kind: str  # "polar", "boost", "dual", "negator", "contrast", "laugh", "stop", "other"
    valence: float = 0.0
    emotions: tuple[str, ...] = ()
    boost: float = 1.0
    negated: bool = False
    caps: bool = False
    japanese: bool = False
    text: str = ""


@dataclass
class _Reading:
    items: list[_Item] = field(default_factory=list)
    exclamations: int = 0
    question: bool = False
    surprise_marks: bool = False


def normalise(text: str) -> str:
    """NFKC (full-width to ASCII, half-width kana to full), curly quotes straightened."""
    # NFKC would turn the acute accent of faces like (´;ω;`) into a space and a combining mark.
    folded = unicodedata.normalize("NFKC", text.replace("\u00b4", "'"))
    return folded.replace("\u2019", "'").replace("\u2018", "'").replace("\ufe0f", "")


def _polar(entry: lex.Entry, text: str, *, japanese: bool = False) -> _Item:
    valence, emotions = entry
    return _Item("polar", valence, tuple(emotions.split()), japanese=japanese, text=text)


def _face(inner: str) -> lex.Entry | None:
    """What a parenthesised face like (T_T), (^^) or (#`Д´) says, if it is a face."""
    lowered = inner.lower()
    if re.search(r"[a-z]{2}", lowered.replace("ω", "")) or _CJK.search(inner.replace("益", "")):
        return None
    if not any(ch in lex.FACE_MARKS for ch in lowered):
        return None
    if any(ch in lex.FACE_SAD for ch in lowered):
        return (-2.0, "sadness")
    if any(ch in lex.FACE_ANGRY for ch in lowered):
        return (-2.2, "anger")
    if any(ch in lex.FACE_HAPPY for ch in lowered):
        return (1.9, "joy")
    return (0.0, "")


def _faces_and_emoji(text: str) -> tuple[str, list[tuple[int, _Item]]]:
    """Takes emoji and kaomoji out of the text, each as an item at its position."""
    found: list[tuple[int, _Item]] = []

    def paren(match: re.Match[str]) -> str:
        if match.group(1) in lex.JA_LAUGHS:
            found.append((match.start(), _Item("laugh", 0.8, ("joy",), text=match.group(0))))
            return " " * len(match.group(0))
        entry = _face(match.group(1))
        if entry is None:
            return match.group(0)
        found.append((match.start(), _polar(entry, match.group(0))))
        return " " * len(match.group(0))

    def fixed(match: re.Match[str]) -> str:
        found.append((match.start(), _polar(lex.KAOMOJI[match.group(0)], match.group(0))))
        return " " * len(match.group(0))

    lowered = text.lower()
    # Fixed faces first so that (╯°□°)╯ is not read as a generic face plus a stray hand.
    lowered = _KAOMOJI.sub(fixed, lowered)
    lowered = _PAREN_FACE.sub(paren, lowered)
    chars = list(lowered)
    for i, ch in enumerate(lowered):
        entry = lex.EMOJI.get(ch)
        if entry is not None:
            item = _polar(entry, ch)
            if ch in lex.LAUGH_EMOJI:
                item.kind = "polar-laugh"
            found.append((i, item))
            chars[i] = " "
    return "".join(chars), found


def _squash_repeats(word: str) -> list[str]:
    """'soooo' → 'soo', 'so'; 'happpy' → 'happy': elongated spellings find their word."""
    if not _REPEATS.search(word):
        return [word]
    return [_REPEATS.sub(r"\1\1", word), _REPEATS.sub(r"\1", word)]


def _en_item(words: list[str], raw: list[str]) -> _Item | None:
    key = " ".join(words)
    if key in lex.EN_WORDS:
        item = _polar(lex.EN_WORDS[key], key)
        item.caps = any(len(w) > 1 and w.isupper() for w in raw)
        return item
    if key in lex.EN_DUAL:
        boost, entry = lex.EN_DUAL[key]
        item = _polar(entry, key)
        item.kind, item.boost = "dual", boost
        return item
    if key in lex.EN_BOOSTS:
        return _Item("boost", boost=lex.EN_BOOSTS[key], text=key)
    if key in lex.EN_NEGATORS or (len(words) == 1 and key.endswith("n't")):
        return _Item("negator", text=key)
    if key in lex.EN_CONTRASTS:
        return _Item("contrast", text=key)
    if len(words) == 1 and (key in lex.EN_LAUGHS or _LAUGH_WORD.match(key)):
        return _Item("laugh", 0.8, ("joy",), text=key)
    return None


def _read_latin(raw_words: list[str], out: list[_Item]) -> None:
    """Reads a run of English words, longest phrase first."""
    words = [w.lower() for w in raw_words]
    i = 0
    while i < len(words):
        item = None
        for size in range(min(_EN_MAX_WORDS, len(words) - i), 0, -1):
            chunk = words[i : i + size]
            spellings = (
                [chunk]
                if size > 1
                else [[w] for w in dict.fromkeys([chunk[0], *_squash_repeats(chunk[0])])]
            )
            for spelling in spellings:
                item = _en_item(spelling, raw_words[i : i + size])
                if item is not None:
                    break
            if item is not None:
                i += size
                break
        if item is None:
            item = _Item("other", text=words[i])
            i += 1
        out.append(item)


def _of_a_thing(text: str, start: int) -> bool:
    """Whether a 好き at `start` is said of a thing (猫が好き), not of the user (君が好き)."""
    if start == 0 or text[start - 1] not in lex.JA_OBJECT_PARTICLES:
        return False
    return not text[: start - 1].endswith(lex.JA_YOU)


def _read_japanese(text: str, start: int, out: list[_Item]) -> int:
    """Reads one lexicon match (or one character) at `start`; returns where it ends."""
    for size in range(min(_JA_MAX_CHARS, len(text) - start), 0, -1):
        key = text[start : start + size]
        if key not in _JA_KEYS:
            continue
        end = start + size
        if key in lex.JA_WORDS:
            item = _polar(lex.JA_WORDS[key], key, japanese=True)
            if key in lex.JA_LIKING and _of_a_thing(text, start):
                item.emotions = ("joy",)
            negation = _JA_NEGATION.match(text, end)
            if negation:
                item.negated = True
                end = negation.end()
        elif key in lex.JA_DUAL:
            boost, entry = lex.JA_DUAL[key]
            item = _polar(entry, key, japanese=True)
            item.kind, item.boost = "dual", boost
        elif key in lex.JA_BOOSTS:
            item = _Item("boost", boost=lex.JA_BOOSTS[key], japanese=True, text=key)
        elif key in lex.JA_CONTRASTS:
            item = _Item("contrast", japanese=True, text=key)
        else:
            item = _Item("laugh", 0.8, ("joy",), japanese=True, text=key)
        out.append(item)
        return end
    out.append(_Item("other", japanese=True, text=text[start]))
    return start + 1


_TOKEN = re.compile(
    r"(?P<latin>[a-z]+(?:'[a-z]+)*)"
    r"|(?P<cjk>[\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+)"
    r"|(?P<stop>[.!?;,\n])"
)


def _read(text: str) -> _Reading:
    reading = _Reading()
    normal = normalise(text)
    rest, faces = _faces_and_emoji(normal)
    cased = normal if len(normal) == len(rest) else rest
    reading.exclamations = normal.count("!")
    stripped = normal.rstrip()
    reading.question = stripped.endswith("?")
    reading.surprise_marks = "!?" in normal or "?!" in normal
    tokens: list[tuple[int, str, str | _Item]] = [(pos, "face", item) for pos, item in faces]
    for match in _TOKEN.finditer(rest):
        kind = match.lastgroup or "stop"
        tokens.append((match.start(), kind, cased[match.start() : match.end()]))
    tokens.sort(key=lambda token: token[0])
    items = reading.items
    latin: list[str] = []
    for _, kind, value in tokens:
        if kind != "latin" and latin:
            _read_latin(latin, items)
            latin = []
        if isinstance(value, _Item):
            items.append(value)
        elif kind == "latin":
            latin.append(value)
        elif kind == "cjk":
            at = 0
            while at < len(value):
                at = _read_japanese(value, at, items)
        else:
            items.append(_Item("stop", text=value))
    if latin:
        _read_latin(latin, items)
    return reading


def _resolve(items: list[_Item]) -> None:
    """Applies boosters, diminishers and English negation to the polar items they reach."""
    boost = 1.0
    negate_reach = 0
    for index, item in enumerate(items):
        if item.kind in ("stop", "contrast"):
            boost, negate_reach = 1.0, 0
            continue
        if item.kind == "negator":
            negate_reach = EN_NEGATION_REACH
            continue
        if item.kind == "boost":
            boost *= item.boost
            continue
        if item.kind == "dual":
            after = items[index + 1] if index + 1 < len(items) else None
            if after is not None and after.kind in ("polar", "dual") and after.valence:
                item.kind, item.emotions = "boost", ()
                boost *= item.boost
                continue
            item.kind = "polar"
        if item.kind in ("polar", "polar-laugh") and item.valence:
            item.valence *= boost
            if negate_reach and not item.japanese:
                item.negated = True
            boost, negate_reach = 1.0, 0
            continue
        if item.kind == "other" and negate_reach and not item.japanese:
            negate_reach -= 1


def _contrast_weights(items: list[_Item]) -> list[float]:
    """What comes after the last but/でも/けど weighs more, what came before less."""
    polar = [i for i, item in enumerate(items) if item.kind.startswith("polar") and item.valence]
    contrasts = [i for i, item in enumerate(items) if item.kind == "contrast"]
    weights = [1.0] * len(items)
    if not contrasts or not polar:
        return weights
    last = contrasts[-1]
    if not any(i < last for i in polar) or not any(i > last for i in polar):
        return weights
    return [BEFORE_CONTRAST if i < last else AFTER_CONTRAST for i in range(len(items))]


class LexiconSentimentScorer:
    """A SentimentScorer from word lists: deterministic, offline, English and Japanese."""

    def score(self, text: str) -> Sentiment:
        reading = _read(text)
        items = reading.items
        _resolve(items)
        weights = _contrast_weights(items)
        laughing = any(item.kind in ("laugh", "polar-laugh") for item in items)
        total = 0.0
        felt: dict[str, float] = {}
        for item, weight in zip(items, weights, strict=True):
            if item.kind not in ("polar", "polar-laugh", "laugh") or not item.valence:
                for emotion in item.emotions:
                    felt[emotion] = felt.get(emotion, 0.0) + 1.0
                continue
            value = item.valence * weight * (CAPS_BOOST if item.caps else 1.0)
            emotions = item.emotions
            if item.negated:
                value *= NEGATION_FLIP
                positive = any(e in ("joy", "affection", "excitement") for e in emotions)
                emotions = ("sadness",) if positive else ()
            if laughing and "anger" in emotions and value < 0:
                # An insult beside a laugh is teasing, not a fight.
                value *= TEASING_DAMPING
                emotions = tuple("teasing" if e == "anger" else e for e in emotions)
            total += value
            for rank, emotion in enumerate(emotions):
                # The first emotion an entry names is its main one; the others come second.
                share = 1.0 if rank == 0 else SECOND_EMOTION
                felt[emotion] = felt.get(emotion, 0.0) + abs(value) * share
        if total:
            total += math.copysign(EXCLAMATION_STEP * min(reading.exclamations, 4), total)
            if reading.question:
                total *= QUESTION_DAMPING
        if "teasing" in felt:
            # Laughing while calling the user names is teasing them, not joy.
            laughs = sum(abs(item.valence) for item in items if item.kind == "laugh")
            felt["joy"] = felt.get("joy", 0.0) - laughs
            felt["teasing"] += laughs
        if reading.surprise_marks:
            felt["surprise"] = felt.get("surprise", 0.0) + 1.0
        score = total / math.sqrt(total * total + ALPHA)
        return Sentiment(round(max(-1.0, min(1.0, score)), 4), _emotions(felt))


def _emotions(felt: dict[str, float]) -> tuple[tuple[str, float], ...]:
    weights = {name: round(min(1.0, value / EMOTION_FULL), 2) for name, value in felt.items()}
    kept = [(name, w) for name, w in weights.items() if w >= EMOTION_FLOOR and name in EMOTIONS]
    return tuple(sorted(kept, key=lambda pair: (-pair[1], EMOTIONS.index(pair[0]))))
