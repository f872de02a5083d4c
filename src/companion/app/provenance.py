"""A stored reply and what went into its prompt, read back from the conversation's log.

The provenance route and `companion replay reply` both start here: the
CompanionReplied of a message (and the ReplyRegenerated alternatives after
it), found by reading the conversation's stream backwards, and the prompt's
inputs as they were, rebuilt from the aggregates at the versions the
provenance names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from companion.app.application import CompanionApplication
from companion.domain.characters import Character
from companion.domain.chat import ChatRequest, RecalledMemory
from companion.domain.conversations import Conversation
from companion.domain.emotion import baseline
from companion.domain.errors import MessageNotFound
from companion.domain.identity import conversation_id
from companion.domain.prompt import PromptProvenance

PAGE = 200


@dataclass(frozen=True)
class StoredTake:
    """One take of a reply as the log holds it."""

    alternative: int
    text: str
    model: str
    fallback: bool
    latency_ms: int
    at: datetime
    conversation_version: int
    """The conversation's version of this event (the one before it built the prompt)."""
    provenance: PromptProvenance | None
    """None for replies stored before prompts were recorded."""


@dataclass(frozen=True)
class StoredReply:
    message_id: UUID
    in_reply_to: UUID
    takes: tuple[StoredTake, ...]
    """The first take, then each regenerated alternative, in order."""


def stored_reply(
    application: CompanionApplication, *, user_id: UUID, character_id: UUID, message_id: UUID
) -> StoredReply:
    """The reply `message_id` of the user's conversation with the character.

    Another user's character raises CharacterNotFound; a message that is not a
    reply of this conversation (unknown, the user's own, another conversation's)
    raises MessageNotFound: the same answer whichever it is.
    """
    application.character(user_id=user_id, character_id=character_id)
    conv_id = conversation_id(user_id, character_id)
    later: list[Any] = []
    upper: int | None = None
    while True:
        try:
            events = list(application.events.get(conv_id, lte=upper, desc=True, limit=PAGE))
        except AggregateNotFoundError:  # pragma: no cover - get() answers no events instead
            events = []
        for stored in events:
            if getattr(stored, "message_id", None) != message_id:
                continue
            if isinstance(stored, Conversation.ReplyRegenerated):
                later.append(stored)
            elif isinstance(stored, Conversation.CompanionReplied):
                return _reply(stored, list(reversed(later)))
            else:
                raise MessageNotFound("no such reply in this conversation")
        if len(events) < PAGE:
            raise MessageNotFound("no such reply in this conversation")
        upper = events[-1].originator_version - 1


def _reply(replied: Any, regenerated: list[Any]) -> StoredReply:
    takes = [_take(replied, 1, replied.latency_ms)]
    for number, event in enumerate(regenerated, start=2):
        takes.append(_take(event, event.alternative or number, event.latency_ms))
    return StoredReply(replied.message_id, replied.in_reply_to, tuple(takes))


def _take(event: Any, alternative: int, latency_ms: int) -> StoredTake:
    state = getattr(event, "provenance", None)
    return StoredTake(
        alternative=alternative,
        text=event.text,
        model=event.model,
        fallback=event.fallback,
        latency_ms=latency_ms,
        at=event.timestamp,
        conversation_version=event.originator_version,
        provenance=None if state is None else PromptProvenance.from_state(state),
    )


def request_as_it_was(
    application: CompanionApplication,
    *,
    user_id: UUID,
    character_id: UUID,
    take: StoredTake,
    memories: tuple[RecalledMemory, ...] = (),
) -> ChatRequest:
    """The ChatRequest the take's prompt was built from, from the log.

    The persona and relationship level are the character's at the recorded
    version, the turns those of the recorded window as the conversation held
    them just before the reply, the user's message the one it answered; mood
    and the day's event are as recorded. `memories` are the recorded ones
    (read by the caller, who knows the memory book). Sentiment is scored again
    (the scorer is deterministic). The user's nickname is today's.
    """
    provenance = take.provenance
    if provenance is None:
        raise MessageNotFound("this reply was stored before prompts were recorded")
    character: Character = application.repository.get(
        character_id, version=provenance.persona_version
    )
    conversation: Conversation = application.repository.get(
        conversation_id(user_id, character_id), version=take.conversation_version - 1
    )
    turns = {turn.message_id: turn for turn in conversation.recent_turns()}
    asked = turns.get(provenance.in_reply_to)
    if asked is None:
        raise MessageNotFound("the message this reply answers is no longer in the log's window")
    window = tuple(turns[m] for m in provenance.recent_turns if m in turns)
    user = application.user(user_id)
    mood = provenance.mood
    return ChatRequest(
        persona=character.persona,
        user_nickname=user.nickname,
        user_text=asked.text,
        recent_turns=window,
        relationship_level=provenance.relationship_level,
        sentiment=application.sentiment.score(asked.text) if application.sentiment else None,
        mood=baseline(character.persona.personality) if mood is None else mood,
        daily_event=provenance.daily_event,
        take=provenance.take,
        memories=memories,
    )
