"""Feelings: the character's mood towards the user, and what a reply changes in it.

The emotion state is read and its cycle opted into here; the chat turn asks
here how the character feels about a message (`feel`), which day's event it
has still to tell (`untold_day`), and what a stored reply changes besides the
conversation (`after_reply`: MoodChanged, the relationship level, the day told).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate

from companion.app.characters import owned_character
from companion.app.unit_of_work import UnitOfWork
from companion.domain.characters import Character
from companion.domain.daily_life import DailyLife
from companion.domain.emotion import (
    Cycle,
    EmotionState,
    MoodOutcome,
    WeatherReport,
    baseline,
    local_time,
    react,
)
from companion.domain.identity import daily_life_id, emotion_state_id
from companion.domain.relationship import next_bond, relationship_change
from companion.domain.sentiment import NEUTRAL, Sentiment, SentimentScorer

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Felt:
    """A turn's MoodChanged: the state it left, and the mood and expression it moved from."""

    before: tuple[int, str] | None
    state: EmotionState


class Feelings:
    """The character's emotion state towards its user, and the reactions to a reply."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        sentiment: SentimentScorer | None = None,
        weather: WeatherReport | None = None,
    ) -> None:
        self.uow = uow
        self.sentiment = sentiment
        """Scores each user message for the emotion engine; none: every message is neutral."""
        self.weather = weather
        """Optional: the weather where the user is (none by default, no network)."""

    def emotion_state(self, user_id: UUID, character_id: UUID) -> EmotionState | None:
        """The character's emotion state towards the user, to read only (None before any)."""
        return self.uow.find(EmotionState, emotion_state_id(user_id, character_id), to_change=False)

    def set_cycle(self, *, user_id: UUID, character_id: UUID, cycle: Cycle | None) -> int | None:
        """Opt the character in to a cycle factor in its mood (None opts out; off by default)."""
        character = owned_character(self.uow, user_id=user_id, character_id=character_id)

        def save() -> int | None:
            state = self.emotion_to_change(user_id, character_id) or EmotionState(
                user_id=user_id,
                character_id=character_id,
                baseline=baseline(character.persona.personality),
            )
            state.opt_into_cycle(cycle)
            return self.uow.save(state)

        return self.uow.retry(save)

    def score(self, text: str) -> Sentiment:
        """The message's sentiment; neutral without a scorer, or when the scorer fails."""
        if self.sentiment is None:
            return NEUTRAL
        try:
            return self.sentiment.score(text)
        except Exception:
            # A scorer's failure must not cost the user their turn: it counts as neutral.
            log.exception("sentiment.failed")
            return NEUTRAL

    def mood_now(self, user_id: UUID, character_id: UUID) -> tuple[int | None, str | None]:
        """The mood and the expression as stored (None, None before the first mood)."""
        state = self.emotion_state(user_id, character_id)
        if state is None:
            return None, None
        return state.mood, state.expression.name

    def emotion_to_change(self, user_id: UUID, character_id: UUID) -> EmotionState | None:
        """The emotion state as a private copy to change (None before the first mood)."""
        return self.uow.find(EmotionState, emotion_state_id(user_id, character_id))

    def feel(
        self,
        character: Character,
        timezone: str,
        sentiment: Sentiment,
        now: datetime,
        state: EmotionState | None = None,
    ) -> MoodOutcome:
        """The mood policy for one message, on the state as it is (or as given)."""
        personality = character.persona.personality
        if state is None:
            state = self.emotion_state(character.owner_id, character.id)
        weather = None
        if self.weather is not None:
            try:
                weather = self.weather.weather(timezone, now)
            except Exception:
                log.exception("weather.failed")
        # The baseline follows the persona as it is now, should it have changed.
        return react(
            mood=baseline(personality) if state is None else state.mood,
            baseline_mood=baseline(personality),
            last_change_at=None if state is None else state.updated_at,
            sentiment=sentiment,
            personality=personality,
            now=now,
            timezone=timezone,
            weather=weather,
            cycle=None if state is None else state.cycle,
        )

    def untold_day(self, character_id: UUID, timezone: str, now: datetime) -> DailyLife | None:
        """Today's event in the character's life (the user's today), if not told yet."""
        day = local_time(now, timezone).date().isoformat()
        life = self.uow.find(DailyLife, daily_life_id(character_id, day), to_change=False)
        return None if life is None or life.shared else life

    def after_reply(
        self,
        character: Character,
        timezone: str,
        sentiment: Sentiment,
        now: datetime,
        reply_message_id: UUID,
        shared: DailyLife | None,
        felt: list[Felt],
        state: EmotionState | None,
    ) -> list[Aggregate]:
        """What a replied turn changes besides the conversation, to save with the reply.

        MoodChanged on the emotion state; RelationshipLevelChanged when the bond
        says so; DailyEventShared when the day's event went into the reply.
        `character` is read only: a copy to change is loaded only when the
        relationship level moves. The MoodChanged is appended to `felt`.
        """
        before = None if state is None else (state.mood, state.expression.name)
        if state is None:
            state = EmotionState(
                user_id=character.owner_id,
                character_id=character.id,
                baseline=baseline(character.persona.personality),
            )
        outcome = self.feel(character, timezone, sentiment, now, state)
        silence = None if state.last_interaction_at is None else now - state.last_interaction_at
        bond = next_bond(state.bond, sentiment, silence)
        change = relationship_change(
            current=character.relationship_level,
            bond_before=state.bond,
            bond_after=bond,
            silence=silence,
        )
        state.record(outcome, cause="message", at=now, sentiment=sentiment, bond=bond)
        felt.append(Felt(before, state))
        changed: list[Aggregate] = [state]
        if change is not None:
            to_change = self.uow.load(Character, character.id)
            to_change.change_relationship_level(change.level, change.reason)
            changed.append(to_change)
        if shared is not None:
            life = self.uow.load(DailyLife, shared.id)
            life.share(message_id=reply_message_id, at=now)
            changed.append(life)
        return changed
