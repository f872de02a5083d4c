"""What a chat model is asked and what it answers: the chat-model port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from companion.domain.characters import Persona
from companion.domain.conversations import Turn
from companion.domain.sentiment import Sentiment


@dataclass(frozen=True)
class RecalledMemory:
    """A memory retrieval brought to this reply, best first in the request."""

    memory_id: UUID
    text: str
    kind: str
    """event, preference, relationship or significant."""
    score: float
    """The retrieval policy's score: relevance × importance × recency."""
    tags: tuple[str, ...] = ()
    subject: str = ""
    """What the memory is about, the first part of its key: "pet", "plan", "likes", …"""
    value: str = ""
    """The fact's value: a name, a date, what is planned."""


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
    take: int = 1
    """Which take of this reply is asked for: 1 the first, 2 and on when the user swipes
    for another; a model answers a new take differently."""
    memories: tuple[RecalledMemory, ...] = ()
    """What the character remembers of the user that bears on this message, best first."""


@dataclass(frozen=True)
class ChatReply:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback: bool = False
    told_daily_event: bool = False
    """True when the reply tells the request's daily_event: it is then recorded as shared."""
    first_token_ms: int | None = None
    """How long the model took to its first token, when it streams; None when unmeasured."""


class ChatModel(Protocol):
    """Writes the character's next message."""

    name: str

    def reply(self, request: ChatRequest) -> ChatReply: ...


@dataclass(frozen=True)
class ChatDelta:
    """The next piece of a reply's text, as the model streams it."""

    text: str


@dataclass(frozen=True)
class ChatRestart:
    """The deltas streamed so far are void (an attempt failed mid-stream): clear them."""


@dataclass(frozen=True)
class ChatDone:
    """The last item of a stream: the whole reply as it is to be stored.

    Its text is authoritative: a consumer stores `reply.text`, never its own
    concatenation of deltas (a retried attempt restarts the deltas).
    """

    reply: ChatReply


ChatStreamItem = ChatDelta | ChatRestart | ChatDone


class StreamingChatModel(ChatModel, Protocol):
    """A chat model that also streams: deltas (and restarts), then exactly one ChatDone.

    `stream` is an async generator for callers inside an event loop (the
    WebSocket); `reply` stays for the synchronous REST turn.
    """

    def stream(self, request: ChatRequest) -> AsyncIterator[ChatStreamItem]: ...
