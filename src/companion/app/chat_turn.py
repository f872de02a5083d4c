"""The two saves of a chat turn: open it (the user's message), close it (the reply).

Between them the model is asked (`companion.app.model_call`), outside any
transaction. Opening stores the message (or finds it stored, for a client's
retry) and builds the model's request; closing stores the reply with what it
changes: the mood, the relationship level, the day's event told.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta
from uuid import UUID, uuid4

from companion.app.accounts import known_user
from companion.app.characters import owned_character
from companion.app.chat_results import ChatTurn, MessageAdmission, OpenTurn
from companion.app.feelings import Feelings, Felt
from companion.app.memories import Memories
from companion.app.model_call import MadeReply, ModelCall
from companion.app.provenance import stored_answer
from companion.app.unit_of_work import UnitOfWork
from companion.domain.characters import Character
from companion.domain.chat import ChatRequest
from companion.domain.conversations import Conversation, check_client_message_id
from companion.domain.daily_life import DailyLife
from companion.domain.identity import (
    conversation_id,
    daily_life_id,
    memory_book_id,
    reply_id,
)
from companion.domain.ports import Ticket
from companion.domain.replies import is_japanese
from companion.domain.users import User


class ChatTurns:
    """Opens and closes chat turns on the unit of work."""

    def __init__(
        self, uow: UnitOfWork, model: ModelCall, feelings: Feelings, memories: Memories
    ) -> None:
        self.uow = uow
        self.model = model
        self.feelings = feelings
        self.memories = memories

    def open(
        self,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None,
        limits: MessageAdmission | None = None,
    ) -> OpenTurn | ChatTurn:
        """Store the user's message; the stored turn if this is a retry of a replied one.

        The user, the character and the memory book are read (not changed) by
        the turn, so no version check would catch them stale: they are brought
        up to date in one read of the store, with the day's event (usually not
        there, nor is a memory book before the first memory). The conversation
        and the emotion state are saved by the turn: the store's version check
        decides for them. The user's tier and time zone, which the message
        limits go by, come from the same read, so a tier changed by any process
        counts for the next message at no further cost; so does the conversation
        when the message has a client id, to tell a retry from a new message
        before it is counted.
        """
        today = self.uow.clock().astimezone(UTC).date()
        days = [today + timedelta(days=offset) for offset in (-1, 0, 1)]
        # A message with a client id may be a retry: the conversation tells before it counts.
        conversation = [] if client_message_id is None else [conversation_id(user_id, character_id)]
        with self.uow.checked(
            [user_id, character_id, *conversation],
            # Whatever the user's time zone, their today is one of these days.
            maybe_missing=[
                memory_book_id(user_id, character_id),
                *(daily_life_id(character_id, day.isoformat()) for day in days),
            ],
        ):
            return self._open(user_id, character_id, text, client_message_id, limits)

    def _open(
        self,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None,
        limits: MessageAdmission | None,
    ) -> OpenTurn | ChatTurn:
        character = owned_character(self.uow, user_id=user_id, character_id=character_id)
        user = known_user(self.uow, user_id)
        conv_id = conversation_id(user_id, character_id)
        ticket = self._admit(limits, user, conv_id, client_message_id)
        try:
            opened = self._store_message(user, character, text, client_message_id)
        except BaseException:
            if limits is not None and ticket is not None:
                limits.withdraw(ticket)
            raise
        if isinstance(opened, ChatTurn) or opened.retried:
            # Another turn of this message stored it first, and counted it.
            if limits is not None and ticket is not None:
                limits.withdraw(ticket)
            ticket = None
        if isinstance(opened, ChatTurn):
            return opened
        return dataclasses.replace(opened, limits=limits, ticket=ticket)

    def _admit(
        self,
        limits: MessageAdmission | None,
        user: User,
        conv_id: UUID,
        client_message_id: str | None,
    ) -> Ticket | None:
        """Count the message, unless the conversation already holds it (a client's retry).

        The user and the conversation are as this turn's read of the store found
        them. A retry racing its original past that read is counted here and
        given back once its save finds the message stored (`_open`): of the
        turns of one message, the one that stores it keeps the count.
        """
        if limits is None:
            return None
        client_id = check_client_message_id(client_message_id)
        if client_id is not None:
            conversation = self.uow.find(Conversation, conv_id, to_change=False)
            if conversation is not None and conversation.known_message(client_id) is not None:
                return None
        return limits.admit(user.id, user)

    def _store_message(
        self,
        user: User,
        character: Character,
        text: str,
        client_message_id: str | None,
    ) -> OpenTurn | ChatTurn:
        user_id, character_id = user.id, character.id
        conv_id = conversation_id(user_id, character_id)
        now = self.uow.clock()
        sentiment = self.feelings.score(text)

        def store_user_message() -> tuple[Conversation, UUID, int | None, bool]:
            conversation = self.uow.find(Conversation, conv_id) or Conversation(
                user_id=user_id, character_id=character_id
            )
            client_id = check_client_message_id(client_message_id)
            stored_before = client_id is not None and bool(conversation.known_message(client_id))
            message_id = conversation.send_user_message(
                text, client_message_id=client_message_id, message_id=uuid4()
            )
            return conversation, message_id, self.uow.save(conversation), stored_before

        conversation, message_id, position, stored_before = self.uow.retry(store_user_message)
        if not conversation.is_awaiting_reply(message_id):
            # A retry of a turn that already has its reply: answer the stored one.
            text_stored, fallback = stored_answer(self.uow, conversation, reply_id(message_id))
            mood, expression = self.feelings.mood_now(user_id, character_id)
            return ChatTurn(
                message_id,
                reply_id(message_id),
                text_stored,
                position,
                mood,
                expression,
                fallback=fallback,
            )

        emotion = self.feelings.emotion_to_change(user_id, character_id)
        feeling = self.feelings.feel(character, user.timezone, sentiment, now, emotion)
        today = self.feelings.untold_day(character_id, user.timezone, now)
        recalled = self.memories.recall_and_remember(
            user_id=user_id,
            character_id=character_id,
            message_id=message_id,
            text=text,
            now=now,
            timezone=user.timezone,
            tier=user.tier,
        )

        request = ChatRequest(
            persona=character.persona,
            user_nickname=user.nickname,
            user_text=text,
            recent_turns=tuple(
                t for t in conversation.recent_turns() if t.message_id != message_id
            ),
            relationship_level=character.relationship_level,
            sentiment=sentiment,
            mood=feeling.after,
            daily_event=None if today is None else _told(today, text),
            memories=recalled.memories,
        )
        return OpenTurn(
            user_id,
            character,
            user.timezone,
            user.nickname,
            conversation,
            message_id,
            position,
            now,
            sentiment,
            today,
            request,
            emotion,
            retried=stored_before,
        )

    def close(self, opened: OpenTurn, made: MadeReply) -> ChatTurn:
        """Store the reply with what it changes (mood, relationship, the day told)."""
        user_id, character_id, message_id = opened.user_id, opened.character.id, opened.message_id
        conv_id = conversation_id(user_id, character_id)
        # The first attempt builds on the conversation and the emotion state as this
        # turn found them; only if another writer got there first are they loaded again.
        unsaved = [opened.conversation]
        emotions = [opened.emotion]

        stored: list[tuple[str, bool]] = []
        felt: list[Felt] = []

        def store_reply() -> int | None:
            conversation = unsaved.pop() if unsaved else self.uow.load(Conversation, conv_id)
            if not conversation.is_awaiting_reply(message_id):
                # A concurrent retry of this same turn replied first: its reply is the
                # one stored, so it is the one to answer, not the one made here.
                stored.append(stored_answer(self.uow, conversation, reply_id(message_id)))
                return None
            conversation.reply(
                in_reply_to=message_id,
                text=made.text,
                model=made.model,
                latency_ms=made.latency_ms,
                prompt_tokens=made.tokens[0],
                completion_tokens=made.tokens[1],
                fallback=made.fallback,
                first_token_ms=made.first_token_ms,
                provenance=self.model.provenance(opened.request, opened.character, message_id),
            )
            shared = opened.today if made.told and not made.fallback else None
            retry = not emotions
            also = self.feelings.after_reply(
                owned_character(self.uow, user_id=user_id, character_id=character_id)
                if retry
                else opened.character,
                opened.timezone,
                opened.sentiment,
                opened.now,
                reply_id(message_id),
                shared,
                felt,
                self.feelings.emotion_to_change(user_id, character_id) if retry else emotions.pop(),
            )
            return self.uow.save(conversation, *also)

        reply_position = self.uow.retry(store_reply)
        self.memories.remember_later(
            user_id=user_id,
            character_id=character_id,
            message_id=message_id,
            text=opened.request.user_text,
            now=opened.now,
            model_failed=made.fallback,
        )
        if stored or not felt:
            # Another turn of this message stored the reply, with its own MoodChanged.
            mood, expression = self.feelings.mood_now(user_id, character_id)
            text, fallback = stored[-1] if stored else (made.text, made.fallback)
            return ChatTurn(
                message_id,
                reply_id(message_id),
                text,
                reply_position or opened.position,
                mood,
                expression,
                fallback=fallback,
            )
        feeling = felt[-1]  # the attempt that was saved
        return ChatTurn(
            message_id,
            reply_id(message_id),
            made.text,
            reply_position or opened.position,
            feeling.state.mood,
            feeling.state.expression.name,
            feeling.state,
            feeling.before,
            fallback=made.fallback,
        )


def _told(life: DailyLife, user_text: str) -> str:
    """The day's event in the user's language."""
    return life.description_ja if is_japanese(user_text) else life.description
