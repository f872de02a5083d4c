"""What a chat turn answers, and what it carries between its steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from companion.domain.characters import Character
from companion.domain.chat import ChatRequest
from companion.domain.conversations import Conversation
from companion.domain.daily_life import DailyLife
from companion.domain.emotion import EmotionState
from companion.domain.ports import Ticket
from companion.domain.sentiment import Sentiment
from companion.domain.users import User


@dataclass(frozen=True)
class ChatTurn:
    user_message_id: UUID
    reply_message_id: UUID
    reply_text: str
    """Always the reply as stored, also for a retried or concurrently repeated turn."""
    position: int | None
    """The notification id of the last event this turn wrote (for read-your-writes)."""
    mood: int | None = None
    """The character's mood after this turn, -100..100."""
    expression: str | None = None
    """The avatar's expression after this turn."""
    emotion: EmotionState | None = None
    """The emotion state as this turn's MoodChanged left it, to read only (None when the
    turn repeats a stored one: it changed nothing)."""
    before: tuple[int, str] | None = None
    """The mood and expression this turn's MoodChanged moved from: the state just before
    it, whatever other turns saved meanwhile (None: the first mood of this state)."""
    fallback: bool = False
    """The stored reply is the in-character fallback (the model failed); for a turn that
    repeats a stored one, whether that stored reply was."""


@dataclass(frozen=True)
class TurnAccepted:
    """A streamed turn's first step: the user's message is stored under this id."""

    message_id: UUID


@dataclass(frozen=True)
class TurnDone:
    """A streamed turn's last step: the turn as stored."""

    turn: ChatTurn


class MessageAdmission(Protocol):
    """Counts a user's chat message against their limits (app.message_limits.MessageLimits)."""

    def admit(self, user_id: UUID, account: User | None = None) -> Ticket: ...

    def withdraw(self, ticket: Ticket) -> None: ...


@dataclass(frozen=True)
class OpenTurn:
    """A turn whose user message is stored and whose reply is still to be made."""

    user_id: UUID
    character: Character
    timezone: str
    nickname: str
    conversation: Conversation
    message_id: UUID
    position: int | None
    now: datetime
    sentiment: Sentiment
    today: DailyLife | None
    request: ChatRequest
    emotion: EmotionState | None
    """The emotion state as the turn found it, a private copy the reply's save builds on."""
    retried: bool = False
    """The message was stored by an earlier turn of it (a client's retry), still unreplied."""
    limits: MessageAdmission | None = None
    ticket: Ticket | None = None
    """The message's place in the user's limits, given back if the turn fails."""

    def give_back(self) -> None:
        """The turn failed before its reply was stored: the message does not count."""
        if self.limits is not None and self.ticket is not None:
            self.limits.withdraw(self.ticket)
