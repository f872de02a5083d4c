"""What one socket's client frames do to the user's conversations.

chat_message (a streamed turn), regenerate (another take of the latest reply),
message_read, avatar_customization and resume {character_id, last_message_id?}
(answered with a `resume` frame of the messages after that one, oldest first).
chat_message and regenerate count against the user's message limits
(app.message_limits) before anything is stored.

Every frame of a conversation goes on the user's channel, so the sender's own
socket sees it once and the user's other devices see it too; a resume's missed
messages are for the asking socket only.
"""

from __future__ import annotations

from contextlib import aclosing
from functools import partial
from typing import Any
from uuid import UUID

import anyio
import anyio.to_thread
from litestar import WebSocket

from companion.app.alternatives import AlternativeReply
from companion.app.api.ws_channels import UserChannels
from companion.app.api.ws_frames import (
    AvatarCustomizationIn,
    ChatMessageIn,
    Frame,
    MessageReadIn,
    RegenerateIn,
    ResumeIn,
    frame,
)
from companion.app.api.ws_turns import alternative_frames, message_frame, reply_frames
from companion.app.bootstrap import Companion
from companion.app.chat_results import TurnAccepted, TurnDone
from companion.domain.chat import ChatDelta, ChatRestart
from companion.domain.errors import CharacterNotFound, MessageNotFound
from companion.domain.identity import conversation_id, reply_id

RESUME_PAGE = 100
RESUME_MOST = 500
"""The most messages a resume sends back; a client further behind pages over REST."""


class SocketConversation:
    """The conversations of one user, as one of their sockets drives them."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        companion: Companion,
        channels: UserChannels,
        user_id: UUID,
    ) -> None:
        self.socket, self.companion, self.channels = socket, companion, channels
        self.user_id = user_id

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """A conversation frame, to every socket of this user (this one included)."""
        self.channels.tell(self.user_id, [(kind, payload)])

    async def chat(self, message: ChatMessageIn, in_reply_to: str | None) -> None:
        """A streamed turn, counted against the user's message limits before anything is
        stored (a refused one is an error frame rate_limited with retry_after); a retry of
        a stored message is answered without being counted."""
        character_id = message.character_id
        turn = self.companion.chat.send_message_streaming(
            user_id=self.user_id,
            character_id=character_id,
            text=message.text,
            client_message_id=message.client_message_id,
            limits=self.companion.message_limits,
        )
        reply_message_id: UUID | None = None
        # Closed at once however the loop ends: the turn holds its conversation till then.
        async with aclosing(turn) as steps:
            async for step in steps:
                if isinstance(step, TurnAccepted):
                    reply_message_id = reply_id(step.message_id)
                    sent = message_frame(
                        character_id,
                        step.message_id,
                        message.text,
                        message.client_message_id,
                        in_reply_to,
                    )
                    self.channels.tell(
                        self.user_id,
                        [
                            sent,
                            ("typing_indicator", {"character_id": character_id, "typing": True}),
                        ],
                    )
                elif isinstance(step, ChatDelta):
                    self.publish(
                        "chat_response",
                        {
                            "character_id": character_id,
                            "message_id": reply_message_id,
                            "delta": step.text,
                            "done": False,
                        },
                    )
                elif isinstance(step, ChatRestart):
                    self.publish(
                        "chat_response",
                        {
                            "character_id": character_id,
                            "message_id": reply_message_id,
                            "delta": "",
                            "restart": True,
                            "done": False,
                        },
                    )
                elif isinstance(step, TurnDone):
                    done = await anyio.to_thread.run_sync(
                        reply_frames,
                        self.companion.runner,
                        self.companion.feelings,
                        self.user_id,
                        character_id,
                        step.turn,
                    )
                    self.channels.tell(self.user_id, done)

    async def regenerate(self, change: RegenerateIn, in_reply_to: str | None) -> None:
        """Another take of the latest reply (a swipe), counted as a message; every device
        gets it as a final chat_response with its alternative's number."""
        limits = self.companion.message_limits
        made = partial(
            self.companion.alternatives.regenerate_reply,
            user_id=self.user_id,
            character_id=change.character_id,
            message_id=change.message_id,
        )

        def counted() -> AlternativeReply:
            if limits is None:
                return made()
            with limits.sending(self.user_id):
                return made()

        def swiped() -> list[Frame]:
            return alternative_frames(
                self.companion.runner, change.character_id, counted(), in_reply_to
            )

        self.channels.tell(self.user_id, await anyio.to_thread.run_sync(swiped))

    async def read(self, read: MessageReadIn) -> None:
        mark = partial(
            self.companion.chat.mark_read,
            user_id=self.user_id,
            character_id=read.character_id,
            message_id=read.message_id,
        )
        await anyio.to_thread.run_sync(mark)
        self.publish(
            "message_read", {"character_id": read.character_id, "message_id": read.message_id}
        )

    async def customize(self, change: AvatarCustomizationIn) -> None:
        equip = partial(
            self.companion.commerce.equip,
            user_id=self.user_id,
            character_id=change.character_id,
            slot=change.slot,
            item_id=change.item_id,
        )
        await anyio.to_thread.run_sync(equip)
        self.publish(
            "avatar_customization",
            {"character_id": change.character_id, "slot": change.slot, "item_id": change.item_id},
        )

    async def resume(self, resume: ResumeIn, in_reply_to: str | None) -> None:
        missed = await anyio.to_thread.run_sync(self.missed, resume)
        await self.socket.send_text(
            frame(
                "resume",
                {
                    "character_id": resume.character_id,
                    "in_reply_to": in_reply_to,
                    "messages": missed,
                },
            )
        )

    def missed(self, resume: ResumeIn) -> list[dict[str, Any]]:
        """The messages after the client's last one, oldest first, from the read model."""
        companion = self.companion
        owned = companion.read_models.characters.get(
            companion.views, self.user_id, resume.character_id
        )
        if owned is None:
            raise CharacterNotFound("no such character")
        conv_id = conversation_id(self.user_id, resume.character_id)
        newer: list[dict[str, Any]] = []
        before: UUID | None = None
        while len(newer) < RESUME_MOST:
            page = companion.read_models.conversations.messages(
                companion.views, conv_id, before=before, limit=RESUME_PAGE
            )
            for message in page.messages:
                if message.message_id == resume.last_message_id:
                    return newer[::-1]
                newer.append(
                    {
                        "message_id": message.message_id,
                        "sender": message.sender,
                        "text": message.text,
                        "created_at": message.created_at.isoformat(),
                    }
                )
            if page.next_before is None:
                break
            before = page.next_before
        if resume.last_message_id is not None:
            raise MessageNotFound("last_message_id is not a message of this conversation")
        return newer[::-1]
