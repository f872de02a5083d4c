"""The emotion engine: a character's mood towards one user, and why it moved.

The mood policy is a pure function of its inputs, the clock included: the
same state, message, personality, moment, time zone, weather and cycle give
the same mood and the same factors (mood_factors.py weighs each). Every change
is recorded as MoodChanged with the mood before and after, each factor's
influence and description, and the expression the avatar was given, so the
mood explains itself and can be replayed without deciding anything again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self
from uuid import UUID

from eventsourcing.domain import Aggregate, CanInitAggregate, event

from companion.domain.errors import InvalidInput
from companion.domain.expression import (
    Expression,
    expression_named,
    expression_of_change,
    mood_expression,
)
from companion.domain.frozen_policies import expression_v1, mood_expression_v1
from companion.domain.identity import emotion_state_id
from companion.domain.limits import MAX_CYCLE_DAYS, MIN_CYCLE_DAYS
from companion.domain.mood_factors import Cycle as Cycle
from companion.domain.mood_factors import Factor as Factor
from companion.domain.mood_factors import Weather as Weather
from companion.domain.mood_factors import (
    cycle_factor,
    interaction_factor,
    personality_factors,
    time_of_day_factor,
    weather_factor,
)
from companion.domain.mood_factors import local_time as local_time
from companion.domain.sentiment import Sentiment

if TYPE_CHECKING:
    # Types only: characters.py decides a persona's baseline with `baseline` below.
    from companion.domain.characters import Personality

MIN_MOOD, MAX_MOOD = -100, 100

DECAY_HALF_LIFE = timedelta(hours=24)
"""After this long without a word, the mood is half-way back to the persona's baseline."""

Cause = Literal["message", "daily_event"]


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


class WeatherReport(Protocol):
    """Optional: the weather where the user is. None by default (no network)."""

    def weather(self, timezone: str, at: datetime) -> Weather | None: ...


@dataclass(frozen=True)
class MoodOutcome:
    before: int
    after: int
    factors: tuple[Factor, ...]


def decayed(mood: float, towards: int, elapsed: timedelta) -> float:
    """The mood after `elapsed` without a word: exponentially back towards the baseline."""
    if elapsed <= timedelta(0):
        return mood
    remaining = float(0.5 ** (elapsed / DECAY_HALF_LIFE))
    return towards + (mood - towards) * remaining


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

    class_version = 2
    """Of its snapshots: v2 keeps the expression decided last (`expression_name`)."""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # A snapshot from before the expression was kept: the expression of its last change
        # (or, unmoved, of its baseline), as the policy of the time gave it.
        state["expression_name"] = expression_v1(
            state["mood"], state["last_factors"], state["last_emotions"]
        )

    class Started(Aggregate.Created):
        user_id: UUID
        character_id: UUID
        baseline: int
        expression: str
        """The avatar's expression at the baseline, decided as the state started."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expression"] = mood_expression_v1(state["baseline"])

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
        expression: str
        """The name of the avatar's expression the change was given (the expression policy's)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expression"] = expression_v1(state["after"], state["factors"], state["emotions"])

    @staticmethod
    def create_id(user_id: UUID, character_id: UUID) -> UUID:
        return emotion_state_id(user_id, character_id)

    @classmethod
    def _create(
        cls,
        event_class: type[CanInitAggregate[UUID]],
        *,
        id: UUID | None = None,
        **kwargs: Any,
    ) -> Self:
        # EmotionState(user_id=…, character_id=…, baseline=…) starts a state: the expression
        # at its baseline is decided here, once, and travels on Started.
        if not kwargs.get("expression"):
            kwargs["expression"] = mood_expression(kwargs["baseline"])
        return super()._create(event_class, id=id, **kwargs)

    @event(Started)
    def __init__(
        self, user_id: UUID, character_id: UUID, baseline: int, expression: str = ""
    ) -> None:
        self.user_id = user_id
        self.character_id = character_id
        self.baseline = baseline
        self.mood = baseline
        self.expression_name = expression
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

        The avatar's expression for it is decided here and recorded with it.
        `bond` is the closeness the relationship policy keeps (see relationship.py).
        """
        factors = [f.to_state() for f in outcome.factors]
        emotions = {} if sentiment is None else {k: float(v) for k, v in sentiment.emotions}
        self._mood_changed(
            before=self.mood,
            after=outcome.after,
            factors=factors,
            cause=cause,
            at=at,
            sentiment=0.0 if sentiment is None else float(sentiment.score),
            emotions=emotions,
            bond=self.bond if bond is None else float(bond),
            expression=expression_of_change(outcome.after, factors, emotions).name,
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
        expression: str,
    ) -> None:
        self.mood = after
        self.bond = bond
        self.last_factors = factors
        self.last_emotions = emotions
        self.last_cause = cause
        self.expression_name = expression
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
        """The avatar's face: the expression its last change (or its start) was given."""
        return expression_named(self.expression_name, self.mood)
