"""Earlier turns of a conversation, as a chat model is given them."""

from __future__ import annotations

from uuid import UUID

from companion.domain.conversations import Turn


def user_turn(text: str, n: int = 1) -> Turn:
    return Turn(sender="user", message_id=UUID(int=n), text=text)


def character_turn(text: str, n: int = 2) -> Turn:
    return Turn(sender="character", message_id=UUID(int=n), text=text)
