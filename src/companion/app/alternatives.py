"""Alternatives of the latest reply: another take asked of the model ("swipe"), or a choice."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from companion.app.accounts import known_user
from companion.app.characters import owned_character
from companion.app.conversation_queue import ConversationQueue
from companion.app.feelings import Feelings
from companion.app.memories import Memories
from companion.app.model_call import ModelCall
from companion.app.provenance import stored_answer
from companion.app.unit_of_work import UnitOfWork
from companion.domain.chat import ChatRequest
from companion.domain.conversations import Conversation
from companion.domain.errors import MessageNotFound, ReplyNotLatest
from companion.domain.identity import conversation_id, reply_id


@dataclass(frozen=True)
class AlternativeReply:
    """One alternative of a reply, as regenerating or choosing left it."""

    message_id: UUID
    alternative: int
    """This alternative's number, 1 being the first take."""
    alternatives: int
    """How many the reply has now."""
    text: str
    position: int | None
    """The notification id of the event written (None when nothing changed)."""
    fallback: bool = False
    """This alternative is the in-character fallback (the model failed)."""


QUEUE_TIMEOUT_SECONDS = 60.0
"""How long a swipe or a choice waits (in its thread) for the turns before it, at most."""


class Alternatives:
    """The use cases of a reply's alternatives."""

    def __init__(
        self,
        uow: UnitOfWork,
        model: ModelCall,
        feelings: Feelings,
        memories: Memories,
        queue: ConversationQueue | None = None,
        *,
        queue_timeout: float = QUEUE_TIMEOUT_SECONDS,
    ) -> None:
        self.uow = uow
        self.model = model
        """The chat model, shared with Chat."""
        self.feelings = feelings
        self.memories = memories
        self.queue = queue or ConversationQueue()
        """The conversations' turns in order, shared with Chat: another take or a choice
        waits for the turn being made, which may change what the latest reply is."""
        self.queue_timeout = queue_timeout

    def regenerate_reply(
        self, *, user_id: UUID, character_id: UUID, message_id: UUID
    ) -> AlternativeReply:
        """Another alternative of the latest reply, asked of the model with the same context.

        The model sees what it saw for the first take: the user message the
        reply answers and the turns before it. The new alternative becomes the
        chosen one; the earlier ones stay in the log and can be chosen again.
        The mood is not felt again (the user said nothing new). It waits for the
        conversation's turn in progress (ConversationBusy past `queue_timeout`).
        """
        with self.queue.hold(conversation_id(user_id, character_id), timeout=self.queue_timeout):
            return self._regenerate(user_id, character_id, message_id)

    def _regenerate(self, user_id: UUID, character_id: UUID, message_id: UUID) -> AlternativeReply:
        character = owned_character(self.uow, user_id=user_id, character_id=character_id)
        user = known_user(self.uow, user_id)
        conv_id = conversation_id(user_id, character_id)
        conversation = self.uow.find(Conversation, conv_id, to_change=False)
        if conversation is None:
            raise MessageNotFound("no such message in this conversation")
        conversation.check_swipeable(message_id)
        turns = conversation.recent_turns()
        asked = next(
            (
                i
                for i, t in enumerate(turns)
                if t.sender == "user" and reply_id(t.message_id) == message_id
            ),
            None,
        )
        if asked is None:
            raise ReplyNotLatest("the message this reply answers is no longer recent")
        user_text = turns[asked].text
        sentiment = self.feelings.score(user_text)
        mood, _ = self.feelings.mood_now(user_id, character_id)
        request = ChatRequest(
            persona=character.persona,
            user_nickname=user.nickname,
            user_text=user_text,
            recent_turns=turns[:asked],
            relationship_level=character.relationship_level,
            sentiment=sentiment,
            mood=character.baseline if mood is None else mood,
            daily_event=None,
            take=conversation.alternatives_of(message_id) + 1,
            memories=self.memories.recall_only(
                user_id=user_id,
                character_id=character_id,
                text=user_text,
                now=self.uow.clock(),
                timezone=user.timezone,
            ),
        )
        made = self.model.reply(request, character.persona, user.nickname)

        def save() -> AlternativeReply:
            conversation = self.uow.load(Conversation, conv_id)
            alternative = conversation.regenerate_reply(
                message_id=message_id,
                text=made.text,
                model=made.model,
                latency_ms=made.latency_ms,
                fallback=made.fallback,
                provenance=self.model.provenance(request, character, turns[asked].message_id),
            )
            position = self.uow.save(conversation)
            return AlternativeReply(
                message_id, alternative, alternative, made.text, position, made.fallback
            )

        return self.uow.retry(save)

    def choose_reply(
        self, *, user_id: UUID, character_id: UUID, message_id: UUID, alternative: int
    ) -> AlternativeReply:
        """Go on from one alternative of the latest reply (1 is the first take).

        It waits for the conversation's turn in progress, as regenerate_reply does.
        """
        with self.queue.hold(conversation_id(user_id, character_id), timeout=self.queue_timeout):
            return self._choose(user_id, character_id, message_id, alternative)

    def _choose(
        self, user_id: UUID, character_id: UUID, message_id: UUID, alternative: int
    ) -> AlternativeReply:
        owned_character(self.uow, user_id=user_id, character_id=character_id)
        conv_id = conversation_id(user_id, character_id)

        def save() -> AlternativeReply:
            conversation = self.uow.find(Conversation, conv_id)
            if conversation is None:
                raise MessageNotFound("no such message in this conversation")
            conversation.choose_reply(message_id=message_id, alternative=alternative)
            position = self.uow.save(conversation) if conversation.pending_events else None
            text = next(t.text for t in conversation.recent_turns() if t.message_id == message_id)
            return AlternativeReply(
                message_id, alternative, conversation.alternatives_of(message_id), text, position
            )

        chosen: AlternativeReply = self.uow.retry(save)
        # Whether the take gone on from is a fallback is in the log, not the recent turns.
        conversation = self.uow.load(Conversation, conv_id, to_change=False)
        _, fallback = stored_answer(self.uow, conversation, message_id)
        return replace(chosen, fallback=fallback)
