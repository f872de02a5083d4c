"""Mood trajectories replayed through another version of the emotion engine.

The log holds every input the engine saw: each `MoodChanged` records when it
happened, the message's sentiment and emotions, what caused it and each factor
(the weather and a day's event among them); the character's persona and the
user's time zone at that moment are in their own streams, the cycle in the
emotion state's. `stored_trajectory` reads them back as the domain's
`Interaction`s, and `compare` replays them through an engine and measures how
far its moods land from the stored ones. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args
from uuid import UUID

from companion.app.history.timelines import Timeline, utc
from companion.app.unit_of_work import UnitOfWork
from companion.domain.characters import Personality
from companion.domain.emotion import EmotionState, Weather
from companion.domain.emotion_engines import EmotionEngine, Interaction, MoodPoint, replay
from companion.domain.identity import emotion_state_id
from companion.domain.mood_factors import Condition, weather_factor
from companion.domain.sentiment import Sentiment

_SKIES = {weather_factor(Weather(c)).description: Weather(c) for c in get_args(Condition)}


@dataclass(frozen=True)
class StoredTrajectory:
    """One emotion state's mood changes as stored, with the inputs that made each."""

    user_id: UUID
    character_id: UUID
    start_mood: int
    """The mood before the first change of `interactions`."""
    start_changed_at: datetime | None
    """When the mood last moved before them (None: never)."""
    interactions: tuple[Interaction, ...]
    stored: tuple[MoodPoint, ...]
    """The stored outcome of each interaction, in the same order."""


@dataclass(frozen=True)
class TrajectoryDifference:
    """How far one engine's trajectory lands from the stored one."""

    user_id: UUID
    character_id: UUID
    changes: int
    mean_abs_difference: float
    max_abs_difference: int
    expression_changes: int
    """Changes whose expression differs from the stored one."""
    stored_final: int | None
    replayed_final: int | None
    replayed: tuple[MoodPoint, ...]


def stored_trajectory(
    uow: UnitOfWork, *, user_id: UUID, character_id: UUID, since: datetime | None = None
) -> StoredTrajectory | None:
    """The stored mood changes (from `since` on) and their inputs; None without an emotion state.

    Changes before `since` stay as stored: the replay starts from the mood they left.
    """
    events: list[Any] = list(uow.stream(emotion_state_id(user_id, character_id)))
    if not events:
        return None
    personas: Timeline[Personality] = Timeline.of(
        uow.stream(character_id), lambda c: c.persona.personality
    )
    zones: Timeline[str] = Timeline.of(uow.stream(user_id), lambda u: u.timezone)
    state: Any = None
    start: tuple[int, datetime | None] | None = None
    interactions: list[Interaction] = []
    stored: list[MoodPoint] = []
    for event in events:
        if isinstance(event, EmotionState.MoodChanged) and (
            since is None or utc(event.at) >= utc(since)
        ):
            if start is None:
                start = (state.mood, state.updated_at)
            interactions.append(_interaction(event, state.cycle, personas, zones))
            stored.append(MoodPoint(event.at, event.after, event.expression))
        state = event.mutate(state)
    if start is None:
        start = (state.mood, state.updated_at)
    return StoredTrajectory(
        user_id, character_id, start[0], start[1], tuple(interactions), tuple(stored)
    )


def _interaction(
    changed: EmotionState.MoodChanged,
    cycle: Any,
    personas: Timeline[Personality],
    zones: Timeline[str],
) -> Interaction:
    moment = changed.timestamp
    personality = personas.at(moment) or Personality()
    factors = changed.factors
    if changed.cause == "daily_event":
        felt = next((f for f in factors if f["type"] == "daily_event"), None)
        return Interaction(
            cause="daily_event",
            at=changed.at,
            personality=personality,
            impact=0 if felt is None else round(felt["influence"]),
            title="" if felt is None else felt["description"],
        )
    sky = next((f["description"] for f in factors if f["type"] == "weather"), None)
    return Interaction(
        cause="message",
        at=changed.at,
        personality=personality,
        sentiment=Sentiment(changed.sentiment, tuple(changed.emotions.items())),
        timezone=zones.at(moment) or "UTC",
        weather=None if sky is None else _SKIES.get(sky),
        cycle=cycle,
    )


def compare(engine: EmotionEngine, trajectory: StoredTrajectory) -> TrajectoryDifference:
    """The trajectory `engine` gives the stored inputs, measured against the stored one."""
    replayed = replay(
        engine,
        trajectory.interactions,
        mood=trajectory.start_mood,
        last_change_at=trajectory.start_changed_at,
    )
    gaps = [abs(r.mood - s.mood) for r, s in zip(replayed, trajectory.stored, strict=True)]
    return TrajectoryDifference(
        user_id=trajectory.user_id,
        character_id=trajectory.character_id,
        changes=len(gaps),
        mean_abs_difference=round(sum(gaps) / len(gaps), 2) if gaps else 0.0,
        max_abs_difference=max(gaps, default=0),
        expression_changes=sum(
            r.expression != s.expression for r, s in zip(replayed, trajectory.stored, strict=True)
        ),
        stored_final=_final(trajectory.stored),
        replayed_final=_final(replayed),
        replayed=tuple(replayed),
    )


def _final(points: Sequence[MoodPoint]) -> int | None:
    return points[-1].mood if points else None
