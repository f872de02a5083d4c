"""Lemmas for memory retrieval: SudachiPy for Japanese, light stemming for English.

Japanese goes through SudachiPy with its core dictionary (the `sudachidict-core`
package, so nothing is downloaded at run time), in its longest split mode
(誕生日 and 歯医者 stay one word). Each content word (noun, pronoun excluded,
verb, adjective, adjectival noun, adverb) becomes its *normalised form*, which
is what makes ねこ, ネコ and 猫 one lemma, 好きだった 好き, and 覚えてる 覚える.
Latin-script runs are lower-cased, stripped of stop words and stemmed with a
few suffix rules ("cats" → "cat", "called" → "call"): the same rules run on
the memory and on the question, so they need to agree more than to be right.

The dictionary is loaded on first use (about 0.1 s, shared by every thread);
each thread gets its own tokenizer, since a Sudachi tokenizer is not safe to
share between threads.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cached_property
from typing import Any

import structlog

from companion.domain.lemmas import ENGLISH_STOP_WORDS

log = structlog.get_logger(__name__)

MAX_RUN_CHARS = 10_000
_RUNS = re.compile(r"([a-z0-9][a-z0-9'\-]*)|([^\sa-z0-9]+)")
_CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞"})
_JAPANESE_STOP_LEMMAS = frozenset(
    {
        "する",
        "為る",
        "いる",
        "居る",
        "ある",
        "有る",
        "なる",
        "成る",
        "こと",
        "事",
        "もの",
        "物",
        "よう",
        "様",
        "ため",
        "為",
        "の",
        "ん",
        "とき",
        "時",
        "ところ",
        "所",
        "さん",
        "ちゃん",
        "くん",
        "そう",
        "こう",
        "ちょっと",
        "とても",
        "すごい",
        "凄い",
        "めっちゃ",
        "やっぱり",
        "本当",
        "今",
        "てる",
        "ちゃう",
        "くれる",
        "もらう",
        "貰う",
        "いく",
        "みる",
        "見る",
        "思う",
        "言う",
    }
)


_CONTRACTED = frozenset({"s", "m", "re", "ll", "ve", "d", "t"})
_NEGATED_HEADS = frozenset(
    {"don", "didn", "doesn", "isn", "wasn", "aren", "weren", "won", "can", "couldn", "wouldn"}
    | {"shouldn", "haven", "hasn", "hadn", "ain"}
)


def english_stem(word: str) -> str:
    """A light English stem: contractions and possessives, plurals, -ing and -ed, -ly
    (consistent rather than right; "" for what carries no meaning)."""
    word = word.strip("'-")
    head, apostrophe, tail = word.partition("'")
    if apostrophe and tail in _CONTRACTED:
        word = "" if head in _NEGATED_HEADS else head
    if word.endswith("s'"):
        word = word[:-1]
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # running → run, stopped → stop
            return stem
    if word.endswith("ly") and len(word) > 5:
        return word[:-2]
    return word


class MorphologicalLemmatizer:
    """The Lemmatizer port over SudachiPy (Japanese) and light stemming (English)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()

    @cached_property
    def _dictionary(self) -> Any:
        from sudachipy import Dictionary

        with self._lock:
            dictionary = Dictionary(dict="core")
        log.info("morphology.dictionary_loaded", dictionary="sudachidict-core")
        return dictionary

    def _tokenizer(self) -> Any:
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            from sudachipy import SplitMode

            tokenizer = self._dictionary.tokenizer(
                mode=SplitMode.C, fields={"pos", "normalized_form"}
            )
            self._local.tokenizer = tokenizer
        return tokenizer

    def lemmas(self, text: str) -> list[str]:
        normalised = unicodedata.normalize("NFKC", text).casefold()
        lemmas: list[str] = []
        for latin, other in _RUNS.findall(normalised):
            if latin:
                for word in re.split(r"[-]", latin):
                    stem = english_stem(word)
                    if stem and word not in ENGLISH_STOP_WORDS and stem not in ENGLISH_STOP_WORDS:
                        lemmas.append(stem)
            elif any(_is_japanese(c) for c in other):
                lemmas.extend(self._japanese(other))
        return lemmas

    def _japanese(self, text: str) -> list[str]:
        lemmas: list[str] = []
        tokenizer = self._tokenizer()
        # Sudachi refuses an input of more than 49,149 bytes; 10,000 characters are at
        # most 40,000 bytes of UTF-8 (a word cut at a seam is the price of a huge run).
        morphemes = (
            morpheme
            for start in range(0, len(text), MAX_RUN_CHARS)
            for morpheme in tokenizer.tokenize(text[start : start + MAX_RUN_CHARS])
        )
        for morpheme in morphemes:
            pos = morpheme.part_of_speech()
            if pos[0] not in _CONTENT_POS or (pos[0] != "名詞" and pos[1] == "非自立可能"):
                continue
            lemma = morpheme.normalized_form()
            if lemma and lemma not in _JAPANESE_STOP_LEMMAS and not lemma.isspace():
                lemmas.append(lemma)
        return lemmas


def _is_japanese(char: str) -> bool:
    return (
        "\u3040" <= char <= "\u30ff"
        or "\u3400" <= char <= "\u9fff"
        or "\uf900" <= char <= "\ufaff"
        or char in "々ー"
    )
