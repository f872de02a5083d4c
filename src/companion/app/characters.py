"""Characters: a user creates their companions and reads their own."""

from __future__ import annotations

from uuid import UUID, uuid4

import structlog

from companion.app.accounts import known_user
from companion.app.unit_of_work import UnitOfWork
from companion.domain.characters import Character, Persona
from companion.domain.errors import CharacterNotFound

log = structlog.get_logger(__name__)


def owned_character(uow: UnitOfWork, *, user_id: UUID, character_id: UUID) -> Character:
    """The user's own character, to read only; another user's is reported as not found."""
    character = uow.find(Character, character_id, to_change=False)
    if character is None:
        raise CharacterNotFound("no such character")
    character.ensure_owned_by(user_id)
    return character


class Characters:
    """The use cases of a user's characters."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def create_character(self, *, user_id: UUID, persona: Persona) -> tuple[UUID, int | None]:
        """A new character of the user's, with its persona; its id and the position of its event."""
        known_user(self.uow, user_id)
        character = Character.create(character_id=uuid4(), owner_id=user_id, persona=persona)
        position = self.uow.save(character)
        log.info("character.created", user_id=str(user_id), character_id=str(character.id))
        return character.id, position

    def character(self, *, user_id: UUID, character_id: UUID) -> Character:
        """The user's own character, to read only; another user's is reported as not found."""
        return owned_character(self.uow, user_id=user_id, character_id=character_id)
