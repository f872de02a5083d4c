"""Versions of the emotion engine, and a mood trajectory replayed through one of them.

The engine that decides the moods stored today is `CURRENT_ENGINE`: it is the
mood policy of emotion.py, unchanged. A variant is the same engine with other
weights: it finds the same factors (decay, the message through the personality,
the time of day, weather, cycle, a day's event) and weighs them its own way,
so an analyst can ask "what would the moods have been" of the inputs the log
recorded (`replay`). Variants decide nothing stored; they answer what-ifs.

Registered engines:

- ``v1``: the current engine (emotion.py).
- ``v1-gentle``: half the weight of every message, the personality's reactions
  included (a character who takes words less to heart); time of day, weather,
  cycle, days' events and decay as in v1.
- ``v1-slow-decay``: the mood goes half-way back to the baseline in three days
  of silence instead of one; everything else as in v1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from companion.domain.characters import Personality
from companion.domain.emotion import (
    DECAY_HALF_LIFE,
    Cause,
    Cycle,
    Factor,
    MoodOutcome,
    Weather,
    baseline,
    clamp_mood,
    feel_daily_event,
    react,
)
from companion.domain.expression import expression_of_change
from companion.domain.mood_factors import FactorType
from companion.domain.sentiment import Sentiment

MESSAGE_FACTORS: frozenset[FactorType] = frozenset({"interaction", "personality"})
"""The factors a message moves: its sentiment, and how the personality takes it."""


class UnknownEngine(ValueError):
    """A version of the emotion engine that is not registered."""


@dataclass(frozen=True)
class EmotionEngine:
    """One version of the emotion engine: the current policy, re-weighed."""

    version: str
    summary: str
    message_weight: float = 1.0
    """Times the influence of a message's factors (interaction and personality)."""
    time_weight: float = 1.0
    """Times the influence of the time of day, the weather and the cycle."""
    daily_event_weight: float = 1.0
    """Times the influence of a day's event in the character's life."""
    decay_half_life: timedelta = DECAY_HALF_LIFE
    """How long a silence takes to bring the mood half-way back to the baseline."""

    @property
    def is_current_policy(self) -> bool:
        """Whether this engine weighs exactly as emotion.py does (then it is emotion.py)."""
        return (
            self.message_weight == 1.0
            and self.time_weight == 1.0
            and self.daily_event_weight == 1.0
            and self.decay_half_life == DECAY_HALF_LIFE
        )

    def react(
        self,
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
        """The mood after one message (see `emotion.react`), weighed by this engine."""
        outcome = react(
            mood=mood,
            baseline_mood=baseline_mood,
            last_change_at=last_change_at,
            sentiment=sentiment,
            personality=personality,
            now=now,
            timezone=timezone,
            weather=weather,
            cycle=cycle,
        )
        return self._weighed(outcome, baseline_mood, last_change_at, now)

    def feel_daily_event(
        self,
        *,
        mood: int,
        baseline_mood: int,
        last_change_at: datetime | None,
        impact: int,
        title: str,
        now: datetime,
    ) -> MoodOutcome:
        """The mood after a day's event (see `emotion.feel_daily_event`), weighed by this engine."""
        outcome = feel_daily_event(
            mood=mood,
            baseline_mood=baseline_mood,
            last_change_at=last_change_at,
            impact=impact,
            title=title,
            now=now,
        )
        return self._weighed(outcome, baseline_mood, last_change_at, now)

    def weight_of(self, factor: FactorType) -> float:
        if factor in MESSAGE_FACTORS:
            return self.message_weight
        if factor == "daily_event":
            return self.daily_event_weight
        return self.time_weight

    def _weighed(
        self, outcome: MoodOutcome, towards: int, since: datetime | None, now: datetime
    ) -> MoodOutcome:
        if self.is_current_policy:
            return outcome
        factors: list[Factor] = []
        for factor in outcome.factors:
            if factor.type == "decay" and since is not None:
                remaining = float(0.5 ** ((now - since) / self.decay_half_life))
                rested = towards + (outcome.before - towards) * remaining
                influence = rested - outcome.before
            else:
                influence = factor.influence * self.weight_of(factor.type)
            factors.append(Factor(factor.type, round(influence, 2), factor.description))
        after = clamp_mood(outcome.before + sum(f.influence for f in factors))
        return MoodOutcome(before=outcome.before, after=after, factors=tuple(factors))


CURRENT_ENGINE = "v1"

ENGINES: Mapping[str, EmotionEngine] = {
    engine.version: engine
    for engine in (
        EmotionEngine(CURRENT_ENGINE, "the current engine: the moods stored today"),
        EmotionEngine(
            "v1-gentle",
            "half the weight of every message (interaction and personality factors)",
            message_weight=0.5,
        ),
        EmotionEngine(
            "v1-slow-decay",
            "the mood goes half-way back to the baseline in 72 h of silence, not 24 h",
            decay_half_life=timedelta(hours=72),
        ),
    )
}
"""Every registered engine by its version; a new variant is one more entry."""


def engine(version: str) -> EmotionEngine:
    """The registered engine of this version (UnknownEngine if none)."""
    try:
        return ENGINES[version]
    except KeyError:
        raise UnknownEngine(
            f"no emotion engine {version!r}; registered: {', '.join(ENGINES)}"
        ) from None


# -- replay ----------------------------------------------------------------------------------

ReplayCause = Literal["message", "daily_event"]


@dataclass(frozen=True)
class Interaction:
    """What the engine saw at one mood change: a message or a day's event, and through what.

    A message brings its sentiment and the user's time zone, weather and the
    character's cycle at that moment; a day's event its impact and title. The
    personality is the character's at that moment (it also gives the baseline).
    """

    cause: ReplayCause
    at: datetime
    personality: Personality
    sentiment: Sentiment | None = None
    timezone: str = "UTC"
    weather: Weather | None = None
    cycle: Cycle | None = None
    impact: int = 0
    title: str = ""


@dataclass(frozen=True)
class MoodPoint:
    """A mood change of a trajectory: when, to which mood, with which expression."""

    at: datetime
    mood: int
    expression: str


def replay(
    engine: EmotionEngine,
    interactions: Iterable[Interaction],
    *,
    mood: int,
    last_change_at: datetime | None = None,
) -> list[MoodPoint]:
    """The trajectory `engine` gives the interactions, from `mood` (last moved at
    `last_change_at`, None: never), one point per interaction, in order.

    Each change starts from the mood the engine itself gave the one before, as
    the live engine starts from the stored mood.
    """
    points: list[MoodPoint] = []
    for seen in interactions:
        outcome = feel(engine, seen, mood=mood, last_change_at=last_change_at)
        factors = [f.to_state() for f in outcome.factors]
        emotions = {} if seen.sentiment is None else dict(seen.sentiment.emotions)
        expression = expression_of_change(outcome.after, factors, emotions).name
        points.append(MoodPoint(seen.at, outcome.after, expression))
        mood, last_change_at = outcome.after, seen.at
    return points


def feel(
    engine: EmotionEngine, seen: Interaction, *, mood: int, last_change_at: datetime | None
) -> MoodOutcome:
    """One interaction through the engine, from `mood`."""
    towards = baseline(seen.personality)
    if seen.cause == "daily_event":
        return engine.feel_daily_event(
            mood=mood,
            baseline_mood=towards,
            last_change_at=last_change_at,
            impact=seen.impact,
            title=seen.title,
            now=seen.at,
        )
    return engine.react(
        mood=mood,
        baseline_mood=towards,
        last_change_at=last_change_at,
        sentiment=seen.sentiment or Sentiment(0.0),
        personality=seen.personality,
        now=seen.at,
        timezone=seen.timezone,
        weather=seen.weather,
        cycle=seen.cycle,
    )


def cause_of(name: str) -> Cause:
    """A recorded change's cause, as the engine knows causes (a day's event, else a message)."""
    return "daily_event" if name == "daily_event" else "message"
