"""Lemmas: the lexical terms memories are indexed and searched by.

A `Lemmatizer` turns text into the dictionary forms of its content words, so
that "猫", "ねこ" and "ネコ" or "cats" and "cat" meet. The real one is an
adapter (a morphological analyzer for Japanese, stemming for English); the
domain keeps `PlainLemmatizer`, a dependency-free fallback that splits words
and cuts Japanese runs into character bigrams, so the policies stay usable
and testable without it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol


class Lemmatizer(Protocol):
    """The lemmas of a text: lower-case dictionary forms of its content words, in order.

    Pure and deterministic for the same text; repeats are kept (they count as
    term frequency).
    """

    def lemmas(self, text: str) -> list[str]: ...


_WORD = re.compile(r"[0-9a-z]+|[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々ー]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々ー]")

ENGLISH_STOP_WORDS = frozenset(
    """a an the and or but if so of to in on at by for with from as is are was were be been
    being am do does did have has had i me my mine you your yours we our he him his she her
    it its they them their this that these those there here what which who whom when where
    why how not no yes just very really too also about into over than then up down out
    can could will would shall should may might must let lets oh ah um uh hey hi ok okay
    yeah please thanks thank s t d ll m re ve""".split()  # noqa: SIM905 - a word list to read
)


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become plain) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


class PlainLemmatizer:
    """Words for Latin script (minus stop words), character bigrams for Japanese runs."""

    def lemmas(self, text: str) -> list[str]:
        terms: list[str] = []
        for word in _WORD.findall(normalise(text)):
            if _CJK.match(word):
                if len(word) == 1:
                    terms.append(word)
                else:
                    terms.extend(word[i : i + 2] for i in range(len(word) - 1))
            elif word not in ENGLISH_STOP_WORDS:
                terms.append(word)
        return terms
