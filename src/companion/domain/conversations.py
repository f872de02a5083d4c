"""Conversations: one per user × character, an append-only exchange of messages.

The aggregate does not hold every message (its events do); it keeps the few
recent turns the chat model needs, the client ids it must deduplicate, and the
user messages still waiting for a reply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from companion.domain import validation
from companion.domain.errors import (
    AlreadyReplied,
    IdempotencyConflict,
    InvalidInput,
    MessageNotFound,
    ReplyNotLatest,
)
from companion.domain.identity import conversation_id, reply_id, user_message_id
from companion.domain.limits import MAX_CLIENT_MESSAGE_ID_CHARS, MAX_MESSAGE_CHARS

MAX_CLIENT_MESSAGE_ID = MAX_CLIENT_MESSAGE_ID_CHARS
RECENT_TURNS = 20
REMEMBERED_CLIENT_IDS = 200
Sender = Literal["user", "character"]


@dataclass(frozen=True)
class Turn:
    """One message of the recent history, as the chat model sees it."""

    sender: Sender
    message_id: UUID
    text: str


def check_message_text(text: str) -> str:
    return validation.text("text", text, max_length=MAX_MESSAGE_CHARS)


def text_digest(text: str) -> str:
    """A short fingerprint of a message, to tell a retry from a reused client id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_client_message_id(client_message_id: str | None) -> str | None:
    if client_message_id is None:
        return None
    return validation.text("client_message_id", client_message_id, max_length=MAX_CLIENT_MESSAGE_ID)


class Conversation(Aggregate):
    class Started(Aggregate.Created):
        user_id: UUID
        character_id: UUID

    class UserMessageSent(Aggregate.Event):
        message_id: UUID
        text: str
        client_message_id: str | None

    class CompanionReplied(Aggregate.Event):
        message_id: UUID
        in_reply_to: UUID
        text: str
        model: str
        latency_ms: int
        prompt_tokens: int
        completion_tokens: int
        fallback: bool
        first_token_ms: int | None
        """How long the model took to its first token; None when unmeasured (and before v2)."""
        provenance: dict[str, Any] | None
        """What went into the reply's prompt (PromptProvenance.to_state); None before v3."""

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["first_token_ms"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, object]) -> None:
            state["provenance"] = None

    class ReplyRegenerated(Aggregate.Event):
        """One more alternative of a reply; every alternative stays in the log."""

        message_id: UUID
        text: str
        model: str
        latency_ms: int
        fallback: bool
        alternative: int | None
        """2 for the first regeneration (1 is the CompanionReplied); None before v2,
        where it is the next number in the log's order."""
        provenance: dict[str, Any] | None
        """What went into this alternative's prompt; None before v3."""

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["alternative"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, object]) -> None:
            state["provenance"] = None

    class ReplyChosen(Aggregate.Event):
        """The user picked one alternative of a reply (1 is the original)."""

        message_id: UUID
        alternative: int

    class MessageRead(Aggregate.Event):
        message_id: UUID

    class VoiceMessageReceived(Aggregate.Event):
        message_id: UUID
        audio_ref: str
        transcript: str
        duration_ms: int

    class ReplySpoken(Aggregate.Event):
        message_id: UUID
        audio_ref: str
        voice: str
        duration_ms: int

    @staticmethod
    def create_id(user_id: UUID, character_id: UUID) -> UUID:
        return conversation_id(user_id, character_id)

    @event(Started)
    def __init__(self, user_id: UUID, character_id: UUID) -> None:
        self.user_id = user_id
        self.character_id = character_id
        self.recent: list[dict[str, str]] = []
        self.client_ids: dict[str, str] = {}
        self.client_digests: dict[str, str] = {}
        self.awaiting_reply: list[str] = []
        self.message_count = 0
        self.last_read: UUID | None = None
        self.alternatives: dict[str, list[str]] = {}
        """The texts of each recent reply that has more than one, in order."""
        self.chosen: dict[str, int] = {}

    # -- queries ---------------------------------------------------------------

    def recent_turns(self) -> tuple[Turn, ...]:
        return tuple(
            Turn(sender=t["sender"], message_id=UUID(t["message_id"]), text=t["text"])  # type: ignore[arg-type]
            for t in self.recent
        )

    def known_message(self, client_message_id: str) -> UUID | None:
        """The message already stored for a client's id, if the client is retrying."""
        known = self.client_ids.get(client_message_id)
        return UUID(known) if known else None

    def is_awaiting_reply(self, message_id: UUID) -> bool:
        return str(message_id) in self.awaiting_reply

    # -- commands ----------------------------------------------------------------

    def send_user_message(
        self, text: str, *, client_message_id: str | None, message_id: UUID
    ) -> UUID:
        """Record the user's message; a retried client id returns the stored message's id.

        A client id already used for another text is a conflict, not a retry.
        """
        text = check_message_text(text)
        client_message_id = check_client_message_id(client_message_id)
        if client_message_id is not None:
            known = self.known_message(client_message_id)
            if known is not None:
                # Conversations stored before digests were kept have none to compare.
                digests: dict[str, str] = getattr(self, "client_digests", {})
                stored = digests.get(client_message_id)
                if stored is not None and stored != text_digest(text):
                    raise IdempotencyConflict(
                        "client_message_id was already used for another message"
                    )
                return known
            message_id = user_message_id(self.id, client_message_id, self.message_count)
        self._user_message_sent(
            message_id=message_id, text=text, client_message_id=client_message_id
        )
        return message_id

    @event(UserMessageSent)
    def _user_message_sent(
        self, message_id: UUID, text: str, client_message_id: str | None
    ) -> None:
        self._remember_turn("user", message_id, text)
        self.awaiting_reply.append(str(message_id))
        if client_message_id is not None:
            digests: dict[str, str] = self.__dict__.setdefault("client_digests", {})
            self.client_ids[client_message_id] = str(message_id)
            digests[client_message_id] = text_digest(text)
            while len(self.client_ids) > REMEMBERED_CLIENT_IDS:
                forgotten = next(iter(self.client_ids))
                del self.client_ids[forgotten]
                digests.pop(forgotten, None)

    def reply(
        self,
        *,
        in_reply_to: UUID,
        text: str,
        model: str,
        latency_ms: int,
        prompt_tokens: int,
        completion_tokens: int,
        fallback: bool,
        first_token_ms: int | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> UUID:
        """Record the character's reply to one user message; each message gets one reply.

        `provenance` is what went into its prompt (PromptProvenance.to_state()).
        """
        if not self.is_awaiting_reply(in_reply_to):
            raise AlreadyReplied(f"message {in_reply_to} has a reply or is unknown")
        text = check_message_text(text)
        message_id = reply_id(in_reply_to)
        self._companion_replied(
            message_id=message_id,
            in_reply_to=in_reply_to,
            text=text,
            model=model,
            latency_ms=max(0, latency_ms),
            prompt_tokens=max(0, prompt_tokens),
            completion_tokens=max(0, completion_tokens),
            fallback=fallback,
            first_token_ms=None if first_token_ms is None else max(0, first_token_ms),
            provenance=provenance,
        )
        return message_id

    @event(CompanionReplied)
    def _companion_replied(
        self,
        message_id: UUID,
        in_reply_to: UUID,
        text: str,
        model: str,
        latency_ms: int,
        prompt_tokens: int,
        completion_tokens: int,
        fallback: bool,
        first_token_ms: int | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        self.awaiting_reply.remove(str(in_reply_to))
        self._remember_turn("character", message_id, text)

    def alternatives_of(self, message_id: UUID) -> int:
        """How many alternatives a recent reply has (1 until it is regenerated)."""
        return len(self._alternatives().get(str(message_id), ())) or 1

    def chosen_of(self, message_id: UUID) -> int:
        """The alternative of a recent reply that the conversation goes on from."""
        return self._chosen().get(str(message_id), self.alternatives_of(message_id))

    def regenerate_reply(
        self,
        *,
        message_id: UUID,
        text: str,
        model: str,
        latency_ms: int,
        fallback: bool,
        provenance: dict[str, Any] | None = None,
    ) -> int:
        """Record another alternative of the latest reply and choose it; returns its number.

        Only the conversation's last message can be regenerated: a later message
        answered the reply as it was, and a new take would rewrite that history.
        """
        self.check_swipeable(message_id)
        alternative = self.alternatives_of(message_id) + 1
        self._reply_regenerated(
            message_id=message_id,
            text=check_message_text(text),
            model=model,
            latency_ms=max(0, latency_ms),
            fallback=fallback,
            alternative=alternative,
            provenance=provenance,
        )
        return alternative

    @event(ReplyRegenerated)
    def _reply_regenerated(
        self,
        message_id: UUID,
        text: str,
        model: str,
        latency_ms: int,
        fallback: bool,
        alternative: int | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        turn = self._recent_turn(message_id)
        if turn is None:
            return  # an old event (before v2) may regenerate a reply that left the window
        texts = self._alternatives().setdefault(str(message_id), [turn["text"]])
        texts.append(text)
        self._chosen()[str(message_id)] = len(texts)
        turn["text"] = text

    def choose_reply(self, *, message_id: UUID, alternative: int) -> None:
        """Go on from an earlier (or later) alternative of the latest reply."""
        self.check_swipeable(message_id)
        if not 1 <= alternative <= self.alternatives_of(message_id):
            count = self.alternatives_of(message_id)
            raise InvalidInput("alternative", f"the reply has alternatives 1 to {count}")
        if alternative != self.chosen_of(message_id):
            self._reply_chosen(message_id=message_id, alternative=alternative)

    @event(ReplyChosen)
    def _reply_chosen(self, message_id: UUID, alternative: int) -> None:
        turn = self._recent_turn(message_id)
        texts = self._alternatives().get(str(message_id), [])
        if turn is not None and 1 <= alternative <= len(texts):
            self._chosen()[str(message_id)] = alternative
            turn["text"] = texts[alternative - 1]

    def check_swipeable(self, message_id: UUID) -> None:
        """Raise unless the message is the character's reply that ends the conversation."""
        turn = self._recent_turn(message_id)
        if turn is None or turn["sender"] != "character":
            raise MessageNotFound("no such reply of the character in the recent turns")
        if self.recent[-1] is not turn:
            raise ReplyNotLatest("only the latest message of the conversation has alternatives")

    def _recent_turn(self, message_id: UUID) -> dict[str, str] | None:
        wanted = str(message_id)
        return next((t for t in self.recent if t["message_id"] == wanted), None)

    # Conversations snapshotted before alternatives were kept have neither attribute.
    def _alternatives(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = self.__dict__.setdefault("alternatives", {})
        return found

    def _chosen(self) -> dict[str, int]:
        found: dict[str, int] = self.__dict__.setdefault("chosen", {})
        return found

    def mark_read(self, message_id: UUID) -> None:
        if self.last_read != message_id:
            self._message_read(message_id=message_id)

    @event(MessageRead)
    def _message_read(self, message_id: UUID) -> None:
        self.last_read = message_id

    def receive_voice(
        self, *, message_id: UUID, audio_ref: str, transcript: str, duration_ms: int
    ) -> None:
        """A voice message: the audio lives in the blob store, the event carries its reference."""
        audio_ref = validation.text("audio_ref", audio_ref, max_length=200)
        transcript = check_message_text(transcript)
        if duration_ms < 0:
            raise InvalidInput("duration_ms", "must not be negative")
        self._voice_message_received(
            message_id=message_id,
            audio_ref=audio_ref,
            transcript=transcript,
            duration_ms=duration_ms,
        )

    @event(VoiceMessageReceived)
    def _voice_message_received(
        self, message_id: UUID, audio_ref: str, transcript: str, duration_ms: int
    ) -> None:
        self._remember_turn("user", message_id, transcript)
        self.awaiting_reply.append(str(message_id))

    def speak_reply(
        self, *, message_id: UUID, audio_ref: str, voice: str, duration_ms: int
    ) -> None:
        audio_ref = validation.text("audio_ref", audio_ref, max_length=200)
        voice = validation.text("voice", voice, max_length=100)
        if duration_ms < 0:
            raise InvalidInput("duration_ms", "must not be negative")
        self._reply_spoken(
            message_id=message_id, audio_ref=audio_ref, voice=voice, duration_ms=duration_ms
        )

    @event(ReplySpoken)
    def _reply_spoken(self, message_id: UUID, audio_ref: str, voice: str, duration_ms: int) -> None:
        pass

    def _remember_turn(self, sender: Sender, message_id: UUID, text: str) -> None:
        self.message_count += 1
        self.recent.append({"sender": sender, "message_id": str(message_id), "text": text})
        for forgotten in self.recent[:-RECENT_TURNS]:
            self._alternatives().pop(forgotten["message_id"], None)
            self._chosen().pop(forgotten["message_id"], None)
        del self.recent[:-RECENT_TURNS]
