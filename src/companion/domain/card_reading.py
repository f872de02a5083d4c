"""What a character card's text says that a persona needs: personality weights, age, gender.

Deterministic rules, in English and Japanese, on the card's description,
personality, scenario, greetings and example dialogues (NFKC-normalised and
case-folded; English words matched whole, Japanese ones anywhere).

- **Personality weights**: each of the five traits starts at 0.5; every
  distinct word of the trait's lexicon found raises it by 0.1 (`RAISES`) or
  lowers it by 0.1 (`LOWERS`), within [0, 1]. "cheerful" or 明るい raises
  activeness; "shy" or 内気 lowers it. Negation is not read ("not shy" is shy).
- **Stated ages**: "Age: 24", "aged 24", "24 years old", "24-year-old", "24yo",
  年齢：24, 24歳, 24才. Every one is found, in the text's order.
- **Gender**: she / her / hers / herself / woman / girl / 彼女 / 女性 count for
  girlfriend, he / him / his / himself / man / boy / 彼 / 男性 for boyfriend;
  the larger count wins, a tie (none at all included) is girlfriend.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from companion.domain.characters import TRAITS, Gender

STEP = 0.1


def _words(words: str) -> tuple[str, ...]:
    return tuple(words.split())


RAISES: dict[str, tuple[str, ...]] = {
    "kindness": _words(
        "kind gentle caring sweet warm generous considerate tender"
        " 優しい やさしい 親切 温かい 穏やか"
    ),
    "humor": _words(
        "funny witty playful humorous jokes joking teasing cheeky mischievous"
        " 面白い おもしろい ユーモア 冗談 お茶目 いたずら好き"
    ),
    "seriousness": _words(
        "serious responsible diligent strict disciplined stoic earnest hardworking"
        " 真面目 まじめ 真剣 几帳面 責任感 勤勉 堅物"
    ),
    "activeness": _words(
        "cheerful energetic active outgoing lively adventurous bubbly sporty extroverted"
        " 明るい 元気 活発 積極的 アクティブ 社交的"
    ),
    "empathy": _words(
        "empathetic understanding compassionate supportive attentive thoughtful listener"
        " 共感 思いやり 気配り 寄り添 聞き上手"
    ),
}
LOWERS: dict[str, tuple[str, ...]] = {
    "kindness": _words("cruel cold mean harsh rude selfish sadistic 冷たい 意地悪 残酷 冷酷 乱暴"),
    "humor": _words("humorless dull grumpy gloomy 無愛想 つまらない 暗い"),
    "seriousness": _words(
        "carefree lazy careless laid-back easygoing reckless"
        " 不真面目 いい加減 のんき だらしない 適当"
    ),
    "activeness": _words(
        "shy quiet introverted reserved timid withdrawn"
        " 内気 大人しい おとなしい 人見知り 恥ずかしがり 引っ込み思案"
    ),
    "empathy": _words(
        "aloof indifferent self-centered oblivious callous 無関心 自己中 鈍感 無神経"
    ),
}
FEMININE = ("she", "her", "hers", "herself", "woman", "girl", "彼女", "女性")
MASCULINE = ("he", "him", "his", "himself", "man", "boy", "彼", "男性")

_AGE_PATTERNS = (
    re.compile(r"\bage[d]?\s*[:=]?\s*(\d{1,4})\b"),
    re.compile(r"\b(\d{1,4})\s*(?:-|\s)?\s*years?\s*(?:-|\s)?\s*old\b"),
    re.compile(r"\b(\d{1,4})\s*y/?o\b"),
    re.compile(r"年齢\s*[:：は]?\s*(\d{1,4})(?!\d)"),
    re.compile(r"(?<!\d)(\d{1,4})\s*(?:歳|才)"),
)


def normalise(texts: Iterable[str]) -> str:
    """The texts as one, NFKC-normalised (full-width digits become ASCII) and case-folded."""
    return unicodedata.normalize("NFKC", "\n".join(texts)).casefold()


def _has(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None
    if word == "彼":  # not the 彼 of 彼女 (she)
        return re.search(r"彼(?!女)", text) is not None
    return word in text


def _count(text: str, words: Iterable[str]) -> int:
    return sum(1 for word in words if _has(text, word))


def personality_weights(texts: Iterable[str]) -> dict[str, float]:
    """The five weights the text suggests, by the lexicon rule of this module."""
    text = normalise(texts)
    weights = {}
    for trait in TRAITS:
        change = STEP * (_count(text, RAISES[trait]) - _count(text, LOWERS[trait]))
        weights[trait] = round(min(1.0, max(0.0, 0.5 + change)), 2)
    return weights


def stated_ages(texts: Iterable[str]) -> list[int]:
    """Every age the text states, in its order."""
    text = normalise(texts)
    found: list[tuple[int, int]] = []
    for pattern in _AGE_PATTERNS:
        found.extend((match.start(), int(match.group(1))) for match in pattern.finditer(text))
    return [age for _, age in sorted(found)]


def gender_of(texts: Iterable[str]) -> Gender:
    """girlfriend or boyfriend, by the pronouns the text uses most."""
    text = normalise(texts)
    feminine, masculine = _count_all(text, FEMININE), _count_all(text, MASCULINE)
    return "boyfriend" if masculine > feminine else "girlfriend"


def _count_all(text: str, words: Iterable[str]) -> int:
    total = 0
    for word in words:
        if word.isascii():
            total += len(re.findall(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text))
        elif word == "彼":
            total += len(re.findall(r"彼(?!女)", text))
        else:
            total += text.count(word)
    return total
