from __future__ import annotations

import pytest

from companion.adapters.sentiment import LexiconSentimentScorer
from companion.domain.sentiment import EMOTIONS

scorer = LexiconSentimentScorer()


@pytest.mark.parametrize(
    ("text", "polarity", "emotion"),
    [
        ("I love you", "positive", "affection"),
        ("大好き", "positive", "affection"),
        ("my cat got sick", "negative", "worry"),
        ("猫が病気になった", "negative", "worry"),
        ("you're stupid", "negative", "anger"),
    ],
)
def test_clear_messages_get_their_polarity_and_emotion(
    text: str, polarity: str, emotion: str
) -> None:
    sentiment = scorer.score(text)

    assert sentiment.polarity == polarity
    assert sentiment.emotions[0][0] == emotion or sentiment.weight(emotion) > 0.3
    assert all(name in EMOTIONS for name, _ in sentiment.emotions)
