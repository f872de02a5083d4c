"""The emotion engine: a character's mood towards one user, and why it moved.

The mood policy is a pure function of its inputs, the clock included: the
same state, message, personality, moment, time zone, weather and cycle give
the same mood and the same factors. Every change is recorded as MoodChanged
with the mood before and after and each factor's influence and description,
so the mood explains itself and can be replayed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from companion.domain.characters import Personality
from companion.domain.errors import InvalidInput
from companion.domain.expression import Expression, expression_of_change
from companion.domain.identity import emotion_state_id
from companion.domain.limits import MAX_CYCLE_DAYS, MIN_CYCLE_DAYS
from companion.domain.sentiment import Sentiment

MIN_MOOD, MAX_MOOD = -100, 100

INTERACTION_WEIGHT = 15.0
"""Mood points a wholly positive (or negative) message moves, before the personality."""
TIME_WEIGHT = 3.0
"""The largest pull of the time of day."""
WEATHER_WEIGHT = 4.0
CYCLE_WEIGHT = 4.0
DECAY_HALF_LIFE = timedelta(hours=24)
"""After this long without a word, the mood is half-way back to the persona's baseline."""
EMPATHY_WEIGHT = 8.0
"""How far a wholly empathetic character is moved by the user's sadness, worry or loneliness."""
HUMOR_SOFTENING = 0.6
"""The share of a teasing message's sting a wholly humorous character laughs off."""
AFFECTION_WEIGHT = 5.0
EXCITEMENT_WEIGHT = 4.0

FactorType = Literal[
    "interaction", "personality", "time", "decay", "weather", "cycle", "daily_event"
]
Cause = Literal["message", "daily_event"]
Condition = Literal["sunny", "cloudy", "rainy", "snowy", "stormy"]

_WEATHER: dict[str, tuple[float, str]] = {
    "sunny": (1.0, "Sunny weather lifts the mood"),
    "cloudy": (0.0, "A grey sky, nothing more"),
    "rainy": (-0.5, "Rain makes the day a little heavy"),
    "snowy": (0.5, "Snow makes everything quiet and pretty"),
    "stormy": (-1.0, "A storm outside is unsettling"),
}


def clamp_mood(value: float) -> int:
    """A mood in range, as a whole number."""
    return max(MIN_MOOD, min(MAX_MOOD, round(value)))


def baseline(personality: Personality) -> int:
    """The mood a persona returns to when nothing happens.

    Kind, playful and lively people sit higher; serious ones lower.
    """
    return clamp_mood(
        40 * personality.kindness
        + 20 * personality.humor
        + 20 * personality.activeness
        - 20 * personality.seriousness
        - 30
    )


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


class WeatherReport(Protocol):
    """Optional: the weather where the user is. None by default (no network)."""

    def weather(self, timezone: str, at: datetime) -> Weather | None: ...


@dataclass(frozen=True)
class Cycle:
    """A character that opts in to a monthly cycle: the first day of one, and its length."""

    start: date
    length_days: int = 28


@dataclass(frozen=True)
class MoodOutcome:
    before: int
    after: int
    factors: tuple[Factor, ...]


# -- the factors -------------------------------------------------------------------------


def decayed(mood: float, towards: int, elapsed: timedelta) -> float:
    """The mood after `elapsed` without a word: exponentially back towards the baseline."""
    if elapsed <= timedelta(0):
        return mood
    remaining = float(0.5 ** (elapsed / DECAY_HALF_LIFE))
    return towards + (mood - towards) * remaining


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


# -- the policy ----------------------------------------------------------------------------


def react(
    *,
    mood: int,
    baseline_mood: int,
    last_change_at: datetime | None,
    sentiment: Sentiment,
    personality: Personality,
    now: datetime,
    timezone: str,
    weather: Weather | None = None,
    cycle: Cycle | None = None,
) -> MoodOutcome:
    """The mood after one message, and every factor that moved it.

    Decay first (the time since the last interaction brings the mood back
    towards the baseline), then the message through the personality, the time
    of day in the user's time zone, and the optional weather and cycle.
    """
    factors: list[Factor] = []
    factors.extend(_decay(mood, baseline_mood, last_change_at, now))
    factors.append(interaction_factor(sentiment, personality))
    factors.extend(personality_factors(sentiment, personality))
    factors.append(time_of_day_factor(now, timezone, personality))
    if weather is not None:
        factors.append(weather_factor(weather))
    if cycle is not None:
        factors.append(cycle_factor(cycle, local_time(now, timezone).date()))
    return _outcome(mood, factors)


def feel_daily_event(
    *,
    mood: int,
    baseline_mood: int,
    last_change_at: datetime | None,
    impact: int,
    title: str,
    now: datetime,
) -> MoodOutcome:
    """The mood after something happened in the character's own day."""
    factors: list[Factor] = []
    factors.extend(_decay(mood, baseline_mood, last_change_at, now))
    factors.append(Factor("daily_event", float(impact), title))
    return _outcome(mood, factors)


def _decay(mood: int, towards: int, since: datetime | None, now: datetime) -> list[Factor]:
    if since is None:
        return []
    rested = decayed(mood, towards, now - since)
    if rested == mood:
        return []
    return [Factor("decay", rested - mood, f"{_span(now - since)} since the mood last moved")]


def _outcome(mood: int, factors: Sequence[Factor]) -> MoodOutcome:
    rounded = tuple(Factor(f.type, round(f.influence, 2), f.description) for f in factors)
    after = clamp_mood(mood + sum(f.influence for f in factors))
    return MoodOutcome(before=mood, after=after, factors=rounded)


def _span(elapsed: timedelta) -> str:
    hours = elapsed / timedelta(hours=1)
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"


# -- the aggregate ----------------------------------------------------------------------------


class EmotionState(Aggregate):
    """A character's mood towards one user; its events are the mood's whole history."""

    class Started(Aggregate.Created):
        user_id: UUID
        character_id: UUID
        baseline: int

    class CycleChanged(Aggregate.Event):
        start: str | None  # ISO date of a cycle's first day; None: opted out
        length_days: int

    class MoodChanged(Aggregate.Event):
        before: int
        after: int
        factors: list[dict[str, Any]]
        cause: str
        at: datetime
        sentiment: float
        emotions: dict[str, float]
        bond: float

    @staticmethod
    def create_id(user_id: UUID, character_id: UUID) -> UUID:
        return emotion_state_id(user_id, character_id)

    @event(Started)
    def __init__(self, user_id: UUID, character_id: UUID, baseline: int) -> None:
        self.user_id = user_id
        self.character_id = character_id
        self.baseline = baseline
        self.mood = baseline
        self.last_interaction_at: datetime | None = None
        self.bond = 0.0
        self.last_factors: list[dict[str, Any]] = []
        self.last_emotions: dict[str, float] = {}
        self.last_cause: str | None = None
        self.cycle_start: date | None = None
        self.cycle_length_days = 28
        self.updated_at: datetime | None = None

    def record(
        self,
        outcome: MoodOutcome,
        *,
        cause: Cause,
        at: datetime,
        sentiment: Sentiment | None = None,
        bond: float | None = None,
    ) -> None:
        """Record a change the policy decided (MoodChanged, even when the mood stayed).

        `bond` is the closeness the relationship policy keeps (see relationship.py).
        """
        self._mood_changed(
            before=self.mood,
            after=outcome.after,
            factors=[f.to_state() for f in outcome.factors],
            cause=cause,
            at=at,
            sentiment=0.0 if sentiment is None else float(sentiment.score),
            emotions={} if sentiment is None else {k: float(v) for k, v in sentiment.emotions},
            bond=self.bond if bond is None else float(bond),
        )

    @event(MoodChanged)
    def _mood_changed(
        self,
        before: int,
        after: int,
        factors: list[dict[str, Any]],
        cause: str,
        at: datetime,
        sentiment: float,
        emotions: dict[str, float],
        bond: float,
    ) -> None:
        self.mood = after
        self.bond = bond
        self.last_factors = factors
        self.last_emotions = emotions
        self.last_cause = cause
        self.updated_at = at
        if cause == "message":
            self.last_interaction_at = at

    @property
    def cycle(self) -> Cycle | None:
        """The character's cycle, when it opted in (off by default)."""
        if self.cycle_start is None:
            return None
        return Cycle(self.cycle_start, self.cycle_length_days)

    def opt_into_cycle(self, cycle: Cycle | None) -> None:
        """Opt in to a cycle factor (None opts out)."""
        if cycle is not None and not MIN_CYCLE_DAYS <= cycle.length_days <= MAX_CYCLE_DAYS:
            raise InvalidInput("length_days", f"must be from {MIN_CYCLE_DAYS} to {MAX_CYCLE_DAYS}")
        if cycle != self.cycle:
            self._cycle_changed(
                start=None if cycle is None else cycle.start.isoformat(),
                length_days=28 if cycle is None else cycle.length_days,
            )

    @event(CycleChanged)
    def _cycle_changed(self, start: str | None, length_days: int) -> None:
        self.cycle_start = None if start is None else date.fromisoformat(start)
        self.cycle_length_days = length_days

    @property
    def factors(self) -> tuple[Factor, ...]:
        return tuple(Factor.from_state(f) for f in self.last_factors)

    @property
    def expression(self) -> Expression:
        """The avatar's face for the state as it is."""
        return expression_of_change(self.mood, self.last_factors, self.last_emotions)
