"""The daily-life scheduler: characters live their days without waiting for a user.

Each round it walks every character (the emotion_states read model's list, as
the composition root gives it) and lives today's event of each, in its user's
time zone. A day is the DailyLife aggregate whose id follows from (character,
date): created once by whichever process gets there first, together with the
MoodChanged it causes, in one atomic save. A restart, a second worker or a
retried round finds the day already lived and changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

import structlog

from companion.app.accounts import known_user
from companion.app.errors import ConcurrencyConflict
from companion.app.unit_of_work import UnitOfWork
from companion.domain.characters import Character
from companion.domain.daily_life import DailyLife, draw
from companion.domain.emotion import EmotionState, baseline, feel_daily_event, local_time
from companion.domain.errors import CharacterNotFound, UserNotFound
from companion.domain.identity import daily_life_id, emotion_state_id
from companion.domain.relationship import neglected, relationship_change

log = structlog.get_logger(__name__)

LivingCharacters = Callable[[], Iterable[tuple[UUID, UUID]]]
"""Every (character, user) pair whose days are lived."""


@dataclass(frozen=True)
class DayLived:
    day: date
    lived: bool
    """True when this call made the day happen (False: a quiet day, or lived before)."""
    position: int | None = None
    life: DailyLife | None = None
    """The day's event, when this call made it happen."""
    emotion: EmotionState | None = None
    """The emotion state as the event left it (saved with it)."""
    before: tuple[int, str] | None = None
    """The mood and the expression before the event."""


def live_day(uow: UnitOfWork, *, character_id: UUID, now: datetime, seed: str) -> DayLived:
    """Today's event of a character (its user's today), once: DailyEventOccurred and its mood."""
    character = uow.find(Character, character_id, to_change=False)
    if character is None:
        raise CharacterNotFound("no such character")
    user = known_user(uow, character.owner_id)
    day = local_time(now, user.timezone).date()
    template = draw(character_id, day, seed, occupation=character.persona.occupation)
    if template is None:
        return DayLived(day, lived=False)
    life_id = daily_life_id(character_id, day.isoformat())

    def save() -> DayLived:
        if uow.find(DailyLife, life_id, to_change=False) is not None:
            return DayLived(day, lived=False)
        life = DailyLife.occur(
            character_id=character_id,
            user_id=character.owner_id,
            day=day,
            template=template,
            at=now,
        )
        state = uow.find(
            EmotionState, emotion_state_id(character.owner_id, character_id)
        ) or EmotionState(
            user_id=character.owner_id,
            character_id=character_id,
            baseline=baseline(character.persona.personality),
        )
        outcome = feel_daily_event(
            mood=state.mood,
            baseline_mood=baseline(character.persona.personality),
            last_change_at=state.updated_at,
            impact=template.mood_impact,
            title=template.title,
            now=now,
        )
        before = (state.mood, state.expression.name)
        state.record(outcome, cause="daily_event", at=now)
        position = uow.save(life, state)
        return DayLived(day, True, position, life, state, before)

    lived = uow.retry(save)
    if lived.lived:
        log.info("daily_life.lived", character_id=str(character_id), day=day.isoformat())
    return lived


def feel_neglect(uow: UnitOfWork, *, character_id: UUID, now: datetime) -> int | None:
    """The relationship level after the user's silence until `now`, if it fell.

    The bond itself is not rewritten: the next message applies the same neglect
    to it, so the level agrees with the bond and is not lowered twice.
    """

    def save() -> int | None:
        character = uow.find(Character, character_id)
        if character is None:
            raise CharacterNotFound("no such character")
        state = uow.find(
            EmotionState, emotion_state_id(character.owner_id, character_id), to_change=False
        )
        if state is None or state.last_interaction_at is None:
            return None
        silence = now - state.last_interaction_at
        change = relationship_change(
            current=character.relationship_level,
            bond_before=state.bond,
            bond_after=neglected(state.bond, silence),
            silence=silence,
        )
        if change is None or change.level > character.relationship_level:
            return None
        character.change_relationship_level(change.level, change.reason)
        return uow.save(character)

    position = uow.retry(save)
    if position is not None:
        log.info("relationship.neglected", character_id=str(character_id))
    return position


class DailyLifeScheduler:
    """Lives every character's day, each round, in a thread of its own."""

    def __init__(
        self,
        uow: UnitOfWork,
        characters: LivingCharacters,
        *,
        seed: str,
        interval: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.uow = uow
        self.characters = characters
        """Every (character, user) pair, as the emotion_states read model knows them."""
        self.seed = seed
        self.interval = interval
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._done: set[tuple[UUID, date]] = set()
        self.announce: Callable[[DayLived], None] | None = None
        """Told of each day this scheduler makes happen (the API sends it to the user's sockets)."""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> int:
        """One round over every character; returns how many days this round made happen."""
        now = now or self.clock()
        lived = 0
        for character_id, user_id in self.characters():
            if self._stopping.is_set():
                break
            try:
                lived += self._live(character_id, user_id, now)
            except (CharacterNotFound, UserNotFound):
                continue  # gone, or its user was forgotten
            except ConcurrencyConflict:
                log.warning("daily_life.postponed", character_id=str(character_id))
        return lived

    def _live(self, character_id: UUID, user_id: UUID, now: datetime) -> int:
        today = local_time(now, known_user(self.uow, user_id).timezone).date()
        if (character_id, today) in self._done:
            return 0
        result = live_day(self.uow, character_id=character_id, now=now, seed=self.seed)
        if result.lived and self.announce is not None:
            try:
                self.announce(result)
            except Exception:
                log.exception("daily_life.announce_failed", character_id=str(character_id))
        feel_neglect(self.uow, character_id=character_id, now=now)
        if len(self._done) > 100_000:
            self._done.clear()
        self._done.add((character_id, result.day))
        return int(result.lived)

    def run_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                lived = self.run_once()
                log.debug("daily_life.round", lived=lived)
            except Exception:
                log.exception("daily_life.round_failed")
            self._stopping.wait(self.interval)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self.run_forever, name="daily-life", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
