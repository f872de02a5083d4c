"""A stored reply and what went into its prompt, read back from the conversation's log.

The provenance route and `companion replay reply` both start here: the
CompanionReplied of a message (and the ReplyRegenerated alternatives after
it), found by reading the conversation's stream backwards, and the prompt's
inputs as they were, rebuilt from the aggregates at the versions the
provenance names. The chat turn reads the log backwards here too, for a
message older than the conversation's recent turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.app.accounts import known_user
from companion.app.characters import owned_character
from companion.app.unit_of_work import UnitOfWork
from companion.domain.characters import Character
from companion.domain.chat import ChatRequest, RecalledMemory
from companion.domain.conversations import Conversation
from companion.domain.emotion import baseline
from companion.domain.errors import MessageNotFound
from companion.domain.identity import conversation_id
from companion.domain.prompt import PromptProvenance
from companion.domain.sentiment import SentimentScorer

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
    uow: UnitOfWork, *, user_id: UUID, character_id: UUID, message_id: UUID
) -> StoredReply:
    """The reply `message_id` of the user's conversation with the character.

    Another user's character raises CharacterNotFound; a message that is not a
    reply of this conversation (unknown, the user's own, another conversation's)
    raises MessageNotFound: the same answer whichever it is.
    """
    owned_character(uow, user_id=user_id, character_id=character_id)
    later: list[Any] = []
    for events in _pages_backwards(uow, conversation_id(user_id, character_id)):
        for stored in events:
            if getattr(stored, "message_id", None) != message_id:
                continue
            if isinstance(stored, Conversation.ReplyRegenerated):
                later.append(stored)
            elif isinstance(stored, Conversation.CompanionReplied):
                return _reply(stored, list(reversed(later)))
            elif isinstance(stored, Conversation.UserMessageSent):
                raise MessageNotFound("no such reply in this conversation")
            # What happened to the reply later (read, a take chosen) leaves it a reply.
    raise MessageNotFound("no such reply in this conversation")


def holds_message(uow: UnitOfWork, conversation: Conversation, message_id: UUID) -> bool:
    """Whether a message of the conversation has this id: its recent turns, else its log."""
    if any(turn.message_id == message_id for turn in conversation.recent_turns()):
        return True
    messages = (Conversation.UserMessageSent, Conversation.CompanionReplied)
    return any(
        isinstance(e, messages) and e.message_id == message_id
        for events in _pages_backwards(uow, conversation.id)
        for e in events
    )


def stored_answer(
    uow: UnitOfWork, conversation: Conversation, message_id: UUID
) -> tuple[str, bool]:
    """A stored reply as the conversation goes on from it: its text, and whether it is the
    in-character fallback.

    The text comes from the recent turns when the reply is one of them, else
    from the log; the take (the first, or a chosen alternative) from the log.
    """
    recent = next((t.text for t in conversation.recent_turns() if t.message_id == message_id), None)
    later: list[Any] = []
    choice: Any = None
    for events in _pages_backwards(uow, conversation.id):
        for stored in events:
            if getattr(stored, "message_id", None) != message_id:
                continue
            if isinstance(stored, Conversation.ReplyRegenerated | Conversation.ReplyChosen):
                choice = choice or stored
            if isinstance(stored, Conversation.ReplyRegenerated):
                later.append(stored)
            elif isinstance(stored, Conversation.CompanionReplied):
                takes = _reply(stored, list(reversed(later))).takes
                take = _chosen(takes, choice)
                return (take.text if recent is None else recent), take.fallback
    raise MessageNotFound("the reply of this message is not stored")


def _chosen(takes: tuple[StoredTake, ...], choice: Any) -> StoredTake:
    """The take the conversation goes on from: the latest regenerated or chosen, else the first."""
    if isinstance(choice, Conversation.ReplyChosen):
        return next((t for t in takes if t.alternative == choice.alternative), takes[0])
    return takes[-1] if choice is not None else takes[0]


def _pages_backwards(uow: UnitOfWork, conv_id: UUID) -> Iterator[list[Any]]:
    """The conversation's events, newest first, a page of PAGE at a time."""
    upper: int | None = None
    while True:
        events = list(uow.stream(conv_id, lte=upper, desc=True, limit=PAGE))
        yield events
        if len(events) < PAGE:
            return
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
    uow: UnitOfWork,
    *,
    user_id: UUID,
    character_id: UUID,
    take: StoredTake,
    memories: tuple[RecalledMemory, ...] = (),
    sentiment: SentimentScorer | None = None,
) -> ChatRequest:
    """The ChatRequest the take's prompt was built from, from the log.

    The persona and relationship level are the character's at the recorded
    version, the turns those of the recorded window as the conversation held
    them just before the reply, the user's message the one it answered; mood
    and the day's event are as recorded. `memories` are the recorded ones
    (read by the caller, who knows the memory book). Sentiment is scored again
    with `sentiment` (the scorer is deterministic). The user's nickname is today's.
    """
    provenance = take.provenance
    if provenance is None:
        raise MessageNotFound("this reply was stored before prompts were recorded")
    character = uow.load(Character, character_id, version=provenance.persona_version)
    conversation = uow.load(
        Conversation,
        conversation_id(user_id, character_id),
        version=take.conversation_version - 1,
    )
    turns = {turn.message_id: turn for turn in conversation.recent_turns()}
    asked = turns.get(provenance.in_reply_to)
    if asked is None:
        raise MessageNotFound("the message this reply answers is no longer in the log's window")
    window = tuple(turns[m] for m in provenance.recent_turns if m in turns)
    user = known_user(uow, user_id)
    mood = provenance.mood
    return ChatRequest(
        persona=character.persona,
        user_nickname=user.nickname,
        user_text=asked.text,
        recent_turns=window,
        relationship_level=provenance.relationship_level,
        sentiment=sentiment.score(asked.text) if sentiment else None,
        mood=baseline(character.persona.personality) if mood is None else mood,
        daily_event=provenance.daily_event,
        take=provenance.take,
        memories=memories,
    )
