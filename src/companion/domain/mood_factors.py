"""The factors of the mood: what a message, the time, the weather and a cycle each weigh.

Each factor is a pure function of its inputs, with its influence in mood points
and its reason in words; the emotion engine (emotion.py) adds them up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from companion.domain.sentiment import Sentiment

if TYPE_CHECKING:
    # Types only: characters.py decides a persona's baseline with the emotion engine.
    from companion.domain.characters import Personality

INTERACTION_WEIGHT = 15.0
"""Mood points a wholly positive (or negative) message moves, before the personality."""
TIME_WEIGHT = 3.0
"""The largest pull of the time of day."""
WEATHER_WEIGHT = 4.0
CYCLE_WEIGHT = 4.0
EMPATHY_WEIGHT = 8.0
"""How far a wholly empathetic character is moved by the user's sadness, worry or loneliness."""
HUMOR_SOFTENING = 0.6
"""The share of a teasing message's sting a wholly humorous character laughs off."""
AFFECTION_WEIGHT = 5.0
EXCITEMENT_WEIGHT = 4.0

FactorType = Literal[
    "interaction", "personality", "time", "decay", "weather", "cycle", "daily_event"
]
Condition = Literal["sunny", "cloudy", "rainy", "snowy", "stormy"]

_WEATHER: dict[str, tuple[float, str]] = {
    "sunny": (1.0, "Sunny weather lifts the mood"),
    "cloudy": (0.0, "A grey sky, nothing more"),
    "rainy": (-0.5, "Rain makes the day a little heavy"),
    "snowy": (0.5, "Snow makes everything quiet and pretty"),
    "stormy": (-1.0, "A storm outside is unsettling"),
}


@dataclass(frozen=True)
class Factor:
    """One reason the mood moved, by how much and why, in words."""

    type: FactorType
    influence: float
    description: str

    def to_state(self) -> dict[str, Any]:
        return {"type": self.type, "influence": self.influence, "description": self.description}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Factor:
        return cls(
            type=state["type"], influence=state["influence"], description=state["description"]
        )


@dataclass(frozen=True)
class Weather:
    """The sky where the user is, as an optional weather port reports it."""

    condition: Condition


@dataclass(frozen=True)
class Cycle:
    """A character that opts in to a monthly cycle: the first day of one, and its length."""

    start: date
    length_days: int = 28


def local_time(now: datetime, timezone: str) -> datetime:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone)


def time_of_day_factor(now: datetime, timezone: str, personality: Personality) -> Factor:
    hour = local_time(now, timezone).hour
    if 5 <= hour < 9:
        influence = TIME_WEIGHT * (0.2 + 0.6 * personality.activeness)
        return Factor("time", influence, "A fresh morning")
    if 17 <= hour < 22:
        return Factor("time", TIME_WEIGHT * 0.5, "A relaxed evening")
    if hour >= 22 or hour < 1:
        return Factor("time", TIME_WEIGHT * 0.2, "A cosy late-night talk")
    if 1 <= hour < 5:
        return Factor("time", -TIME_WEIGHT, "Sleepy in the small hours")
    return Factor("time", 0.0, "The middle of the day")


def is_small_hours(now: datetime, timezone: str) -> bool:
    return 1 <= local_time(now, timezone).hour < 5


def interaction_factor(sentiment: Sentiment, personality: Personality) -> Factor:
    """The message's sentiment × the interaction weight, felt through the personality.

    Lively people feel kindness more, serious ones less; kind people take hurt
    more lightly. Linear in the score on each side of zero, so a kinder
    message never lowers the mood.
    """
    score = max(-1.0, min(1.0, sentiment.score))
    if score >= 0:
        sensitivity = 1.0 + 0.4 * personality.activeness - 0.3 * personality.seriousness
    else:
        sensitivity = 1.0 + 0.3 * personality.seriousness - 0.4 * personality.kindness
    influence = score * INTERACTION_WEIGHT * sensitivity
    return Factor("interaction", influence, f"The user's message felt {_feeling(score)}")


def _feeling(score: float) -> str:
    if score >= 0.6:
        return "very warm"
    if score > 0.1:
        return "kind"
    if score <= -0.6:
        return "hurtful"
    if score < -0.1:
        return "unkind"
    return "neutral"


def personality_factors(sentiment: Sentiment, personality: Personality) -> list[Factor]:
    """How the five weights shape the reaction beyond the sentiment itself."""
    factors: list[Factor] = []
    sorrow = max(
        sentiment.weight("sadness"), sentiment.weight("worry"), sentiment.weight("loneliness")
    )
    if sorrow > 0 and personality.empathy > 0:
        factors.append(
            Factor(
                "personality",
                -EMPATHY_WEIGHT * sorrow * personality.empathy,
                "Empathy: the user's sadness is felt too",
            )
        )
    teasing = sentiment.weight("teasing")
    if teasing > 0 and sentiment.score < 0 and personality.humor > 0:
        sting = -min(0.0, sentiment.score) * INTERACTION_WEIGHT
        factors.append(
            Factor(
                "personality",
                sting * teasing * personality.humor * HUMOR_SOFTENING,
                "Humor: the teasing is taken as a joke",
            )
        )
    affection = max(sentiment.weight("affection"), sentiment.weight("gratitude"))
    if affection > 0 and personality.kindness > 0:
        factors.append(
            Factor(
                "personality",
                AFFECTION_WEIGHT * affection * personality.kindness,
                "Kindness: affection is warmly returned",
            )
        )
    excitement = max(sentiment.weight("excitement"), sentiment.weight("joy"))
    if excitement > 0 and personality.activeness > 0:
        factors.append(
            Factor(
                "personality",
                EXCITEMENT_WEIGHT * excitement * personality.activeness,
                "Activeness: the user's excitement is catching",
            )
        )
    return factors


def weather_factor(weather: Weather) -> Factor:
    weight, description = _WEATHER.get(weather.condition, (0.0, "Weather of no consequence"))
    return Factor("weather", WEATHER_WEIGHT * weight, description)


def cycle_factor(cycle: Cycle, today: date) -> Factor:
    length = max(1, cycle.length_days)
    day = (today - cycle.start).days % length
    phase = day / length
    if phase < 0.18:
        return Factor("cycle", -CYCLE_WEIGHT, f"Day {day + 1} of the cycle: low on energy")
    if phase < 0.5:
        return Factor("cycle", CYCLE_WEIGHT * 0.5, f"Day {day + 1} of the cycle: feeling bright")
    if phase > 0.82:
        return Factor(
            "cycle", -CYCLE_WEIGHT * 0.5, f"Day {day + 1} of the cycle: a little irritable"
        )
    return Factor("cycle", 0.0, f"Day {day + 1} of the cycle")
