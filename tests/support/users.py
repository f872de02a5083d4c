"""A user and their character, made through the application (no API in between)."""

from __future__ import annotations

from uuid import UUID

from companion.app.bootstrap import Companion
from companion.domain.characters import Persona
from tests.support.personas import PERSONA_INPUT

PASSWORD = "correct horse battery"


def persona(name: str = "Haruto Sato") -> Persona:
    """Haruto with only the fields a persona needs."""
    return Persona.parse(
        name=name,
        nickname="Haru",
        gender="boyfriend",
        age=27,
        personality=PERSONA_INPUT["personality"],
    )


def register(companion: Companion, email: str = "aoi@example.org") -> UUID:
    return companion.accounts.register(
        email=email, password=PASSWORD, name="Aoi Tanaka", nickname="Aoi"
    )


def user_with_character(companion: Companion, email: str = "aoi@example.org") -> tuple[UUID, UUID]:
    user_id = register(companion, email)
    character_id, _ = companion.characters.create_character(user_id=user_id, persona=persona())
    return user_id, character_id


def chatted(companion: Companion, turns: int) -> tuple[UUID, UUID]:
    """A user and their character, who have had `turns` chat turns."""
    user_id, character_id = user_with_character(companion, "rebuild@example.org")
    for n in range(turns):
        companion.chat.send_message(user_id=user_id, character_id=character_id, text=f"turn {n}")
    return user_id, character_id
