"""Conversations saved straight to the store, as many and as fast as a test wants."""

from __future__ import annotations

from uuid import uuid4

from companion.app.bootstrap import Companion
from companion.domain.conversations import Conversation


def turns(companion: Companion, conversations: int, rounds: int) -> int:
    """Chat turns, saved a round at a time; the log's head."""
    streams = [Conversation(user_id=uuid4(), character_id=uuid4()) for _ in range(conversations)]
    for _ in range(rounds):
        for conversation in streams:
            message = conversation.send_user_message(
                "hello", client_message_id=None, message_id=uuid4()
            )
            conversation.reply(
                in_reply_to=message,
                text="hi",
                model="m",
                latency_ms=1,
                prompt_tokens=1,
                completion_tokens=1,
                fallback=False,
            )
        companion.uow.save(*streams)
    return companion.runner.head()
