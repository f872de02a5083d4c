"""The policies as they decided when events of a first shape were written. Frozen: never edit.

Character.Created and PersonaUpdated did not carry the persona's baseline,
EmotionState.Started and MoodChanged did not carry the avatar's expression:
readers computed them again from the live policies. Those events are upcast
with the values these copies give, which are the values the policies gave
when the events were written. A policy changed in emotion.py or expression.py
reaches new events only; an upcast calling it would rewrite old decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def baseline_v1(personality: Mapping[str, Any]) -> int:
    """`emotion.baseline` of a persona state's personality, as of the first event shapes."""

    def trait(name: str) -> float:
        return float(personality.get(name, 0.5))  # Personality's default, then as now

    value = (
        40 * trait("kindness")
        + 20 * trait("humor")
        + 20 * trait("activeness")
        - 20 * trait("seriousness")
        - 30
    )
    return max(-100, min(100, round(value)))


def mood_expression_v1(mood: int) -> str:
    """`expression.mood_expression`, as of the first event shapes: the face of a mood at rest."""
    if mood >= 70:
        return "joyful"
    if mood >= 35:
        return "happy"
    if mood <= -50:
        return "angry"
    if mood <= -20:
        return "sad"
    return "neutral"


def expression_v1(
    mood: int,
    factors: Sequence[Mapping[str, Any]],
    emotions: Mapping[str, float] | None,
) -> str:
    """The name `expression.expression_of_change` gave a recorded change, as of MoodChanged v1."""
    sleepy = any(f.get("type") == "time" and float(f.get("influence", 0.0)) < 0 for f in factors)
    base = mood_expression_v1(mood)
    name, weight = max(
        (emotions or {}).items(), key=lambda item: (item[1], item[0]), default=("", 0.0)
    )
    if weight >= 0.5:
        if name == "affection" and mood >= 0:
            return "loving" if mood >= 35 else "shy"
        if name in ("sadness", "worry", "loneliness") and mood > -50:
            return "worried"
        if name == "anger" and mood < 0:
            return "angry"
        if name == "surprise" and -20 < mood < 70:
            return "surprised"
    if sleepy and -20 < mood < 35:
        return "sleepy"
    return base
