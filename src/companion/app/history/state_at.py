"""A character as it was at a moment: its mood, relationship, memories and inventory.

Each aggregate is replayed from the log up to its last event stamped at or
before the moment (its version then), so the answer is what the application
itself knew at that moment, whatever the read models hold now. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from companion.app.history.timelines import as_it_was, utc
from companion.app.unit_of_work import UnitOfWork
from companion.domain.catalogue import CatalogItem
from companion.domain.characters import Character
from companion.domain.emotion import EmotionState
from companion.domain.errors import CharacterNotFound
from companion.domain.expression import mood_expression
from companion.domain.identity import emotion_state_id, memory_book_id, wallet_id
from companion.domain.memory import MemoryBook
from companion.domain.wallet import Wallet


@dataclass(frozen=True)
class MoodAt:
    mood: int
    expression: str
    baseline: int
    changed_at: datetime | None
    """When the mood last moved (None: never yet, it is at the persona's baseline)."""
    cause: str | None
    factors: tuple[dict[str, object], ...]


@dataclass(frozen=True)
class MemoryAt:
    memory_id: UUID
    kind: str
    text: str
    importance: float
    horizon: str
    recorded_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class ItemAt:
    item_id: UUID
    name: str | None
    """The item's name in the catalogue at the moment (None: not in the catalogue then)."""
    equipped_in: str | None
    """The slot it was worn in, if it was."""


@dataclass(frozen=True)
class CharacterAt:
    """What one character was, for its user, at one moment."""

    at: datetime
    user_id: UUID
    character_id: UUID
    name: str
    mood: MoodAt
    relationship_level: int
    memories: tuple[MemoryAt, ...]
    gems: int
    owed: int
    items: tuple[ItemAt, ...]
    """The items bought for this character by then, with what it wore."""


def character_at(
    uow: UnitOfWork, *, user_id: UUID, character_id: UUID, at: datetime
) -> CharacterAt:
    """The character as it was at `at` for its user.

    CharacterNotFound when the character did not exist yet, or is not the user's.
    """
    at = utc(at)
    character = as_it_was(uow, Character, character_id, at)
    if character is None or character.owner_id != user_id:
        raise CharacterNotFound("no such character of this user at that moment")
    state = as_it_was(uow, EmotionState, emotion_state_id(user_id, character_id), at)
    book = as_it_was(uow, MemoryBook, memory_book_id(user_id, character_id), at)
    wallet = as_it_was(uow, Wallet, wallet_id(user_id), at)
    worn = {item_id: slot for slot, item_id in character.equipped.items()}
    owned = sorted(
        {item for owner, item in (wallet.owned if wallet else set()) if owner == character_id},
        key=str,
    )
    items = tuple(
        ItemAt(item_id, _item_name(uow, item_id, at), worn.get(item_id)) for item_id in owned
    )
    return CharacterAt(
        at=at,
        user_id=user_id,
        character_id=character_id,
        name=character.persona.name,
        mood=_mood(state, character.baseline),
        relationship_level=character.relationship_level,
        memories=tuple(
            MemoryAt(
                memory_id=m.memory_id,
                kind=m.kind,
                text=m.text,
                importance=m.importance,
                horizon=m.horizon,
                recorded_at=m.recorded_at,
                expires_at=m.expires_at,
            )
            for m in (book.memories(at) if book else [])
        ),
        gems=wallet.balance if wallet else 0,
        owed=wallet.debt if wallet else 0,
        items=items,
    )


def _mood(state: EmotionState | None, baseline: int) -> MoodAt:
    if state is None:
        # No feeling recorded yet: the character rests at its persona's baseline.
        return MoodAt(baseline, mood_expression(baseline), baseline, None, None, ())
    return MoodAt(
        mood=state.mood,
        expression=state.expression_name,
        baseline=state.baseline,
        changed_at=state.updated_at,
        cause=state.last_cause,
        factors=tuple(state.last_factors),
    )


def _item_name(uow: UnitOfWork, item_id: UUID, at: datetime) -> str | None:
    item = as_it_was(uow, CatalogItem, item_id, at)
    return None if item is None else item.name
