"""The chat turn: the user's message, the model's reply, stored with what it changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from functools import partial
from uuid import UUID

import anyio.to_thread

from companion.app.characters import owned_character
from companion.app.chat_results import ChatTurn, MessageAdmission, TurnAccepted, TurnDone
from companion.app.chat_turn import ChatTurns
from companion.app.conversation_queue import ConversationQueue
from companion.app.feelings import Feelings
from companion.app.memories import Memories
from companion.app.model_call import MadeReply, ModelCall
from companion.app.provenance import holds_message
from companion.app.unit_of_work import UnitOfWork
from companion.domain.chat import ChatDelta, ChatRestart
from companion.domain.conversations import Conversation
from companion.domain.errors import MessageNotFound
from companion.domain.identity import conversation_id
from companion.domain.prompt import ModelParameters


class Chat:
    """The use cases of a conversation with a character."""

    def __init__(
        self,
        uow: UnitOfWork,
        model: ModelCall,
        feelings: Feelings,
        memories: Memories,
        queue: ConversationQueue | None = None,
    ) -> None:
        self.uow = uow
        self.model = model
        """The chat model, shared with Alternatives."""
        self.turns = ChatTurns(uow, model, feelings, memories)
        self.queue = queue or ConversationQueue()
        """Each conversation's turns, one at a time in the order they came (shared with
        Alternatives): a reply follows its own message, and no turn loses a race."""

    def send_message(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None = None,
        limits: MessageAdmission | None = None,
    ) -> ChatTurn:
        """One whole chat turn: store the message, ask the model, store the reply.

        The model is called outside any transaction. Concurrent turns on the
        same conversation are serialised by the store's optimistic concurrency:
        a writer that loses reloads the conversation and tries again, so no
        message is lost. A client retry with the same client_message_id returns
        the turn already stored.

        With `limits`, the message is counted against the user's limits before
        anything is stored (RateLimited when none is left), and given back if
        the turn fails.

        The turn holds its conversation from opening to closing: turns of one
        conversation sent at once are made one after another, in the order they
        came (ConversationBusy past the queue's bound). The caller's thread waits;
        from the event loop, use `send_message_async`.
        """
        with self.queue.hold(conversation_id(user_id, character_id)):
            return self._whole_turn(user_id, character_id, text, client_message_id, limits)

    async def send_message_async(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None = None,
        limits: MessageAdmission | None = None,
    ) -> ChatTurn:
        """send_message from the event loop: the turn waits for its conversation without
        keeping a worker thread, then runs in one."""
        async with self.queue.hold_async(conversation_id(user_id, character_id)):
            turn = partial(self._whole_turn, user_id, character_id, text, client_message_id)
            return await anyio.to_thread.run_sync(turn, limits)

    def _whole_turn(
        self,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None,
        limits: MessageAdmission | None,
    ) -> ChatTurn:
        opened = self.turns.open(user_id, character_id, text, client_message_id, limits)
        if isinstance(opened, ChatTurn):
            return opened
        try:
            made = self.model.reply(opened.request, opened.character.persona, opened.nickname)
            return self.turns.close(opened, made)
        except BaseException:
            opened.give_back()
            raise

    async def send_message_streaming(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None = None,
        limits: MessageAdmission | None = None,
    ) -> AsyncGenerator[TurnAccepted | ChatDelta | ChatRestart | TurnDone, None]:
        """The turn of send_message, streamed: accepted, the model's deltas, done.

        Stored exactly as send_message stores it (same idempotency, mood,
        relationship, day told): the stored reply is ChatDone's text, never the
        deltas joined. A model failing mid-stream restarts the deltas with the
        in-character fallback. Store calls run in a worker thread, the model's
        stream in the caller's event loop. The turn holds its conversation from
        opening to closing, as send_message's does; close the iterator
        (`contextlib.aclosing`) so that a consumer that stops early lets it go.
        """
        async with self.queue.hold_async(conversation_id(user_id, character_id)):
            opened = await anyio.to_thread.run_sync(
                self.turns.open, user_id, character_id, text, client_message_id, limits
            )
            if isinstance(opened, ChatTurn):
                yield TurnAccepted(opened.user_message_id)
                turn = opened
            else:
                try:
                    yield TurnAccepted(opened.message_id)
                    made: MadeReply | None = None
                    stream = self.model.stream(
                        opened.request, opened.character.persona, opened.nickname
                    )
                    async with aclosing(stream) as items:
                        async for item in items:
                            if isinstance(item, MadeReply):
                                made = item
                            else:
                                yield item
                    assert made is not None, "the model's stream always ends with the reply made"
                    turn = await anyio.to_thread.run_sync(self.turns.close, opened, made)
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(opened.give_back)
                    raise
        # The conversation is free before the turn is told done: the next turn can start.
        yield TurnDone(turn)

    def mark_read(self, *, user_id: UUID, character_id: UUID, message_id: UUID) -> int | None:
        """The user has read the conversation up to this message (MessageRead).

        The message must be one of this conversation's: any other id (unknown, or
        another conversation's) is MessageNotFound and records nothing.
        """
        owned_character(self.uow, user_id=user_id, character_id=character_id)

        def save() -> int | None:
            conversation = self.uow.find(Conversation, conversation_id(user_id, character_id))
            if conversation is None or not holds_message(self.uow, conversation, message_id):
                raise MessageNotFound("no such message in this conversation")
            conversation.mark_read(message_id)
            return self.uow.save(conversation)

        return self.uow.retry(save)

    def model_parameters(self) -> ModelParameters:
        """The chat model's name and how it is asked (its budget, its temperature if set)."""
        return self.model.parameters()
