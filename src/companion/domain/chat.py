"""What a chat model is asked and what it answers: the chat-model port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from companion.domain.characters import Persona
from companion.domain.conversations import Turn
from companion.domain.sentiment import Sentiment


@dataclass(frozen=True)
class ChatRequest:
    """Everything a model needs for one reply; the model decides nothing else."""

    persona: Persona
    user_nickname: str
    user_text: str
    recent_turns: tuple[Turn, ...] = ()
    relationship_level: int = 1
    sentiment: Sentiment | None = None
    """How the user's message feels; None lets the model read it itself."""
    mood: int | None = None
    """The character's mood before the reply, -100..100; None when it has none yet."""
    daily_event: str | None = None
    """Something from the character's own day to tell the user about, in the user's language."""


@dataclass(frozen=True)
class ChatReply:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback: bool = False
    told_daily_event: bool = False
    """True when the reply tells the request's daily_event: it is then recorded as shared."""


class ChatModel(Protocol):
    """Writes the character's next message."""

    name: str

    def reply(self, request: ChatRequest) -> ChatReply: ...
