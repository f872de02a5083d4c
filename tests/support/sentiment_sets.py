"""The sentiment scorer's labelled sets, and how many of a set it scores right.

The sets (tests/data/sentiment_*.tsv) are companion-chat messages in English and
Japanese, each labelled positive, negative or neutral by hand. The lexicon was
tuned on the labelled set; the held-out set was written after that (it scored
en 68%, ja 62% before words were added for it); the unseen set was written last
and is never tuned against (en 42.5%, ja 52.5% at its first and only scoring:
news with no feeling word in it, like a delayed flight or a new puppy, reads as
neutral to a lexicon). A message is right when the scorer's polarity equals its label.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from companion.adapters.sentiment import LexiconSentimentScorer
from companion.domain.sentiment import SentimentScorer

DATA = Path(__file__).parent.parent / "data"
LABELLED = DATA / "sentiment_labelled.tsv"
# Written after the lexicon was tuned on LABELLED; a fresher (if now also flattering) measure.
HELD_OUT = DATA / "sentiment_heldout.tsv"
# Written last, scored once, never tuned against: the honest measure of a lexicon's reach.
UNSEEN = DATA / "sentiment_unseen.tsv"
LABELS = ("positive", "neutral", "negative")
LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class Example:
    text: str
    language: str
    label: str
    emotion: str | None


@dataclass
class Evaluation:
    """Counts of (language, label, predicted) and the messages the scorer got wrong."""

    confusion: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    misses: list[tuple[Example, str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, language: str | None = None) -> int:
        return sum(n for (lang, _, _), n in self.confusion.items() if language in (None, lang))

    def accuracy(self, language: str | None = None) -> float:
        right = sum(
            n
            for (lang, label, predicted), n in self.confusion.items()
            if language in (None, lang) and label == predicted
        )
        total = self.total(language)
        return right / total if total else 0.0

    def polar_precision(self, language: str | None = None) -> float:
        """Of the messages scored positive or negative, the share whose label says the same."""
        polar = [
            (label, predicted, n)
            for (lang, label, predicted), n in self.confusion.items()
            if language in (None, lang) and predicted != "neutral"
        ]
        total = sum(n for _, _, n in polar)
        return (
            sum(n for label, predicted, n in polar if label == predicted) / total if total else 0.0
        )


def load(path: Path = LABELLED) -> list[Example]:
    """The labelled messages: text, language, label and an optional main emotion, tab-separated."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3 or fields[1] not in LANGUAGES or fields[2] not in LABELS:
            raise ValueError(f"{path.name}:{number}: expected text, en|ja, label[, emotion]")
        emotion = fields[3].strip() if len(fields) > 3 and fields[3].strip() else None
        examples.append(Example(fields[0], fields[1], fields[2], emotion))
    return examples


def evaluate(
    scorer: SentimentScorer | None = None, examples: list[Example] | None = None
) -> Evaluation:
    scorer = scorer or LexiconSentimentScorer()
    examples = load() if examples is None else examples
    result = Evaluation()
    started = time.perf_counter()
    for example in examples:
        sentiment = scorer.score(example.text)
        result.confusion[(example.language, example.label, sentiment.polarity)] += 1
        if sentiment.polarity != example.label:
            result.misses.append((example, sentiment.polarity, sentiment.score))
    result.seconds = time.perf_counter() - started
    return result
