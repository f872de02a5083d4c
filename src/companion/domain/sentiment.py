"""How a message feels: the sentiment port the emotion engine and the responders read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Polarity = Literal["positive", "negative", "neutral"]


@dataclass(frozen=True)
class Sentiment:
    """A message's feeling: `score` in [-1, 1] (negative to positive).

    `emotions` names what the message expresses beyond its polarity, each with a
    weight in [0, 1] (e.g. {"affection": 0.8}, {"sadness": 0.6, "worry": 0.3},
    {"anger": 0.7}); the emotion engine and the responders use them to react in
    character. The names come from `EMOTIONS`.
    """

    score: float
    emotions: tuple[tuple[str, float], ...] = ()

    @property
    def polarity(self) -> Polarity:
        if self.score > 0.1:
            return "positive"
        if self.score < -0.1:
            return "negative"
        return "neutral"

    def weight(self, emotion: str) -> float:
        return dict(self.emotions).get(emotion, 0.0)


EMOTIONS = (
    "affection",
    "joy",
    "gratitude",
    "excitement",
    "sadness",
    "worry",
    "loneliness",
    "anger",
    "teasing",
    "surprise",
    "tiredness",
)

NEUTRAL = Sentiment(0.0)


class SentimentScorer(Protocol):
    """Scores a message in Japanese or English; pure and deterministic for the same text."""

    def score(self, text: str) -> Sentiment: ...
