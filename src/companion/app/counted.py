"""Chat turns and throttles, counted for the metrics as the composition root wires them.

`CountedChat` is the Chat whose turns are counted by transport (REST through
`send_message_async`, the WebSocket through `send_message_streaming`) and
outcome; `CountedThrottle` counts the refusals of the throttle it wraps, by the
throttle's name.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any
from uuid import UUID

from companion.app import metrics
from companion.app.chat import Chat
from companion.app.chat_results import ChatTurn, MessageAdmission, TurnAccepted, TurnDone
from companion.app.errors import ConversationBusy
from companion.app.message_limits import RateLimited
from companion.domain.chat import ChatDelta, ChatRestart
from companion.domain.errors import DomainError
from companion.domain.ports import Throttle


def turn_outcome(turn: ChatTurn) -> str:
    """A stored turn: the model's reply, the fallback, or a retry answered from the store."""
    if turn.emotion is None:
        return "repeated"
    return "fallback" if turn.fallback else "replied"


def error_outcome(error: BaseException) -> str:
    """A turn that stored no reply: refused for now (limits, a busy conversation), rejected
    (the request was wrong), failed (the server's fault) or abandoned (the caller left)."""
    if isinstance(error, (RateLimited, ConversationBusy)):
        return "refused"
    if isinstance(error, DomainError):
        return "rejected"
    if isinstance(error, Exception):
        return "failed"
    return "abandoned"


class CountedChat(Chat):
    """The Chat, with each REST and WebSocket turn counted by its outcome."""

    async def send_message_async(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None = None,
        limits: MessageAdmission | None = None,
    ) -> ChatTurn:
        try:
            turn = await super().send_message_async(
                user_id=user_id,
                character_id=character_id,
                text=text,
                client_message_id=client_message_id,
                limits=limits,
            )
        except BaseException as error:
            metrics.chat_turn("rest", error_outcome(error))
            raise
        metrics.chat_turn("rest", turn_outcome(turn))
        return turn

    async def send_message_streaming(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None = None,
        limits: MessageAdmission | None = None,
    ) -> AsyncGenerator[TurnAccepted | ChatDelta | ChatRestart | TurnDone, None]:
        outcome = "abandoned"
        steps = super().send_message_streaming(
            user_id=user_id,
            character_id=character_id,
            text=text,
            client_message_id=client_message_id,
            limits=limits,
        )
        try:
            async with aclosing(steps) as items:
                async for step in items:
                    if isinstance(step, TurnDone):
                        outcome = turn_outcome(step.turn)
                    yield step
        except BaseException as error:
            if outcome == "abandoned":
                outcome = error_outcome(error)
            raise
        finally:
            metrics.chat_turn("ws", outcome)


class CountedThrottle:
    """A throttle whose refusals are counted under its name."""

    def __init__(self, throttle: Throttle, name: str) -> None:
        self.throttle = throttle
        self.name = name

    def admit(self, *, account: str, address: str | None) -> int:
        wait = self.throttle.admit(account=account, address=address)
        if wait:
            metrics.throttle_refused(self.name)
        return wait

    def succeeded(self, *, account: str, address: str | None) -> None:
        self.throttle.succeeded(account=account, address=address)

    def withdraw(self, *, account: str, address: str | None) -> None:
        self.throttle.withdraw(account=account, address=address)

    def __getattr__(self, name: str) -> Any:
        # The wrapped throttle's own attributes (its policy, its fallback) stay in reach.
        return getattr(self.throttle, name)
