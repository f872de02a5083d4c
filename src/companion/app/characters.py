"""Characters: a user creates their companions, imports them from character cards, and
reads their own."""

from __future__ import annotations

import hashlib
from typing import Protocol
from uuid import UUID, uuid4

import structlog

from companion.app.accounts import known_user
from companion.app.unit_of_work import UnitOfWork
from companion.domain.card_persona import card_of, kept_of, persona_from_card
from companion.domain.character_cards import CharacterCard
from companion.domain.characters import Character, Persona
from companion.domain.errors import CharacterNotFound

log = structlog.get_logger(__name__)


class CardImages(Protocol):
    """Where the images of imported cards are kept, by content address (never in events)."""

    def put(self, image: bytes) -> str:
        """Keep the image; its address."""
        ...

    def get(self, address: str) -> bytes | None:
        """The image at the address, or None when it is not here."""
        ...


class ImagesInMemory:
    """Card images in this process's memory: the store of a Characters given none."""

    def __init__(self) -> None:
        self._images: dict[str, bytes] = {}

    def put(self, image: bytes) -> str:
        address = hashlib.sha256(image).hexdigest()
        self._images[address] = image
        return address

    def get(self, address: str) -> bytes | None:
        return self._images.get(address)


def owned_character(uow: UnitOfWork, *, user_id: UUID, character_id: UUID) -> Character:
    """The user's own character, to read only; another user's is reported as not found."""
    character = uow.find(Character, character_id, to_change=False)
    if character is None:
        raise CharacterNotFound("no such character")
    character.ensure_owned_by(user_id)
    return character


class Characters:
    """The use cases of a user's characters."""

    def __init__(self, uow: UnitOfWork, images: CardImages | None = None) -> None:
        self.uow = uow
        self.images: CardImages = images if images is not None else ImagesInMemory()

    def create_character(
        self, *, user_id: UUID, persona: Persona, character_id: UUID | None = None
    ) -> tuple[UUID, int | None]:
        """A new character of the user's, with its persona; its id and the position of its event.

        The id is drawn at random unless given (a reproducible population names its own:
        a character's days are drawn from its id).
        """
        known_user(self.uow, user_id)
        character = Character.create(
            character_id=character_id or uuid4(), owner_id=user_id, persona=persona
        )
        position = self.uow.save(character)
        log.info("character.created", user_id=str(user_id), character_id=str(character.id))
        return character.id, position

    def import_character(
        self,
        *,
        user_id: UUID,
        card: CharacterCard,
        image: bytes | None = None,
        age: int | None = None,
        gender: str | None = None,
    ) -> tuple[UUID, int | None]:
        """A new character of the user's from a character card (and the image it came on);
        `age` for a card that states none, `gender` to choose it. Its id and position."""
        known_user(self.uow, user_id)
        persona = persona_from_card(card, age=age, gender=gender)
        address = self.images.put(image) if image is not None else None
        character = Character.import_card(
            character_id=uuid4(),
            owner_id=user_id,
            persona=persona,
            card=kept_of(card),
            spec=card.spec,
            image=address,
        )
        position = self.uow.save(character)
        log.info(
            "character.imported",
            user_id=str(user_id),
            character_id=str(character.id),
            spec=card.spec,
            image=address is not None,
        )
        return character.id, position

    def character_card(
        self, *, user_id: UUID, character_id: UUID
    ) -> tuple[CharacterCard, bytes | None]:
        """The user's own character as a character card, and the image it came on (if any)."""
        character = owned_character(self.uow, user_id=user_id, character_id=character_id)
        imported = character.imported_card
        card = card_of(character.persona, imported.card if imported is not None else None)
        image = None
        if imported is not None and imported.image is not None:
            image = self.images.get(imported.image)
        return card, image

    def character(self, *, user_id: UUID, character_id: UUID) -> Character:
        """The user's own character, to read only; another user's is reported as not found."""
        return owned_character(self.uow, user_id=user_id, character_id=character_id)
