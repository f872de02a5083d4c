"""The relationship policy: closeness grows with sustained kindness and fades with neglect.

Closeness is a `bond` (points, never negative) kept on the emotion state; the
relationship level (1..MAX_RELATIONSHIP_LEVEL, on the Character) follows the
bond with a little hysteresis, so one sharp word does not undo a level that
many kind ones built. Pure functions of their inputs, the time since the last
interaction included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from companion.domain.characters import MAX_RELATIONSHIP_LEVEL
from companion.domain.sentiment import Sentiment

LEVEL_THRESHOLDS: tuple[float, ...] = (0, 4, 10, 18, 28, 40, 55, 72, 92, 115)
"""The bond a level needs, for levels 1..10."""
HYSTERESIS = 2.0
"""How far below its threshold the bond must fall before a level is lost."""
NEGLECT_GRACE = timedelta(days=3)
"""Silence this long costs nothing."""
NEGLECT_RATE = 0.15
"""The share of the bond lost per day of silence beyond the grace."""
TALK_GAIN = 0.2
"""A neutral message still counts for a little: being talked to at all."""
HURT_WEIGHT = 2.5
"""Hurt weighs more than kindness: a negative message costs this many times its score."""

assert len(LEVEL_THRESHOLDS) == MAX_RELATIONSHIP_LEVEL


@dataclass(frozen=True)
class LevelChange:
    level: int
    reason: str


def bond_gain(sentiment: Sentiment) -> float:
    """What one message does to the bond.

    Being talked to counts a little, kindness more, and hurt weighs more than
    kindness. Continuous and increasing in the score.
    """
    score = max(-1.0, min(1.0, sentiment.score))
    if score >= 0:
        warmth = max(sentiment.weight("affection"), sentiment.weight("gratitude"))
        return TALK_GAIN + score * (1.0 + warmth)
    return TALK_GAIN + HURT_WEIGHT * score


def neglected(bond: float, silence: timedelta) -> float:
    """The bond after `silence` without a word from the user."""
    beyond = (silence - NEGLECT_GRACE) / timedelta(days=1)
    if beyond <= 0:
        return bond
    return bond * float((1.0 - NEGLECT_RATE) ** beyond)


def next_bond(bond: float, sentiment: Sentiment, silence: timedelta | None) -> float:
    """The bond after a message that ends `silence` (None for the first message)."""
    kept = bond if silence is None else neglected(bond, silence)
    return max(0.0, kept + bond_gain(sentiment))


def level_for(bond: float) -> int:
    """The highest level whose threshold the bond reaches."""
    return max(level for level, need in enumerate(LEVEL_THRESHOLDS, start=1) if bond >= need)


def next_level(current: int, bond: float) -> int:
    """The level the bond supports; a level is lost only when the bond falls HYSTERESIS below it."""
    current = max(1, min(MAX_RELATIONSHIP_LEVEL, current))
    supported = level_for(bond)
    if supported > current:
        return supported
    return min(current, level_for(bond + HYSTERESIS))


def relationship_change(
    *, current: int, bond_before: float, bond_after: float, silence: timedelta | None
) -> LevelChange | None:
    """A new level and its reason, or None when the level stays."""
    level = next_level(current, bond_after)
    if level == current:
        return None
    if level > current:
        return LevelChange(level, f"grew closer through warm talks (bond {bond_after:.1f})")
    if (
        silence is not None
        and silence > NEGLECT_GRACE
        and neglected(bond_before, silence) < bond_before
    ):
        days = round(silence / timedelta(days=1))
        return LevelChange(level, f"drifted apart after {days} days without a word")
    return LevelChange(level, "hurtful words strained the relationship")


def speaking_style(level: int) -> str:
    """How a character at this level speaks, for a prompt."""
    if level >= 8:
        return "deeply close: intimate, affectionate, shares inner thoughts freely"
    if level >= 5:
        return "close: warm and familiar, teases gently, uses the user's nickname"
    if level >= 3:
        return "friendly: relaxed and open, still a little careful"
    return "new acquaintance: polite and a little reserved"
