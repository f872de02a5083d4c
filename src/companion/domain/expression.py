"""Expression mapping: an emotion state → a named expression, Live2D-style parameters, a transition.

The mood picks the base expression; what the last change was about (the
user's affection, sadness or anger, a surprise, the small hours) can turn it
into a more specific one. Parameters follow the expression, nudged by the
mood, and always stay in their ranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeGuard

ExpressionName = Literal[
    "neutral",
    "happy",
    "joyful",
    "shy",
    "loving",
    "sad",
    "worried",
    "angry",
    "surprised",
    "sleepy",
]
EXPRESSIONS: tuple[ExpressionName, ...] = (
    "neutral",
    "happy",
    "joyful",
    "shy",
    "loving",
    "sad",
    "worried",
    "angry",
    "surprised",
    "sleepy",
)
TRANSITION_MS = 1000
EASING = "ease-in-out"

PARAMETERS = ("eye_open", "eye_smile", "brow_angle", "mouth_form", "mouth_open", "cheek_blush")
RANGES: dict[str, tuple[float, float]] = {
    "eye_open": (0.0, 1.0),
    "eye_smile": (0.0, 1.0),
    "brow_angle": (-1.0, 1.0),
    "mouth_form": (-1.0, 1.0),
    "mouth_open": (0.0, 1.0),
    "cheek_blush": (0.0, 1.0),
}

# eye_open, eye_smile, brow_angle (-1 frowning .. 1 raised), mouth_form (-1 down .. 1 smile),
# mouth_open, cheek_blush
_FACES: dict[ExpressionName, tuple[float, float, float, float, float, float]] = {
    "neutral": (0.9, 0.0, 0.0, 0.1, 0.0, 0.0),
    "happy": (0.85, 0.5, 0.2, 0.6, 0.2, 0.2),
    "joyful": (0.7, 0.9, 0.4, 1.0, 0.6, 0.4),
    "shy": (0.6, 0.3, -0.1, 0.3, 0.0, 0.8),
    "loving": (0.7, 0.7, 0.2, 0.7, 0.1, 0.6),
    "sad": (0.6, 0.0, -0.6, -0.6, 0.0, 0.0),
    "worried": (0.9, 0.0, -0.4, -0.3, 0.1, 0.0),
    "angry": (1.0, 0.0, -0.9, -0.8, 0.2, 0.3),
    "surprised": (1.0, 0.0, 0.9, 0.0, 0.7, 0.1),
    "sleepy": (0.3, 0.1, -0.1, 0.0, 0.1, 0.0),
}


@dataclass(frozen=True)
class Expression:
    name: ExpressionName
    parameters: dict[str, float] = field(default_factory=dict)
    transition_ms: int = TRANSITION_MS
    easing: str = EASING


def mood_expression(mood: int) -> ExpressionName:
    """The expression of the mood alone."""
    if mood >= 70:
        return "joyful"
    if mood >= 35:
        return "happy"
    if mood <= -50:
        return "angry"
    if mood <= -20:
        return "sad"
    return "neutral"


def expression_name(
    mood: int,
    *,
    emotions: Mapping[str, float] | None = None,
    sleepy: bool = False,
) -> ExpressionName:
    """The expression for a mood and what the last change was about.

    `emotions` are those of the user's last message (from the sentiment port);
    `sleepy` is true in the small hours of the user's night.
    """
    emotions = emotions or {}
    base = mood_expression(mood)
    strongest = max(emotions.items(), key=lambda item: (item[1], item[0]), default=("", 0.0))
    name, weight = strongest
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


def parameters(name: ExpressionName, mood: int) -> dict[str, float]:
    """The face of an expression, its smile nudged by the mood, every value in range."""
    eye_open, eye_smile, brow, mouth_form, mouth_open, blush = _FACES[name]
    nudge = max(-100, min(100, mood)) / 500
    values = {
        "eye_open": eye_open,
        "eye_smile": eye_smile + max(0.0, nudge),
        "brow_angle": brow + nudge / 2,
        "mouth_form": mouth_form + nudge,
        "mouth_open": mouth_open,
        "cheek_blush": blush,
    }
    return {key: round(_clamp(key, value), 3) for key, value in values.items()}


def expression_for(
    mood: int,
    *,
    emotions: Mapping[str, float] | None = None,
    sleepy: bool = False,
    transition_ms: int = TRANSITION_MS,
) -> Expression:
    name = expression_name(mood, emotions=emotions, sleepy=sleepy)
    return Expression(name, parameters(name, mood), transition_ms, EASING)


def is_expression_name(name: str) -> TypeGuard[ExpressionName]:
    return name in EXPRESSIONS


def expression_named(name: str, mood: int) -> Expression:
    """An expression the policy decided earlier, by its name: its face follows from the mood."""
    if not is_expression_name(name):
        raise ValueError(f"no expression named {name!r}")
    return Expression(name, parameters(name, mood), TRANSITION_MS, EASING)


def _clamp(key: str, value: float) -> float:
    low, high = RANGES[key]
    return max(low, min(high, value))


def expression_of_change(
    mood: int,
    factors: Sequence[Mapping[str, object]],
    emotions: Mapping[str, float] | None = None,
) -> Expression:
    """The expression after a recorded mood change; its factors tell the small hours."""
    sleepy = any(
        f.get("type") == "time" and float(f.get("influence", 0.0)) < 0  # type: ignore[arg-type]
        for f in factors
    )
    return expression_for(mood, emotions=emotions, sleepy=sleepy)
