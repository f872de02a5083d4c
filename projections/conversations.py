"""Conversations: each user × character's messages, newest first, and its last activity.

A reply may have several alternatives (regenerated, "swiped"): every one is a
row of reply_alternatives; the message shows the chosen one and their count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.domain.conversations import Conversation
from projections.base import Projection, handles
from projections.store import ViewCursor, ViewStore, as_datetime, as_optional_uuid, as_uuid

PREVIEW_CHARS = 120


@dataclass(frozen=True)
class MessageView:
    message_id: UUID
    sender: str
    text: str
    created_at: datetime
    in_reply_to: UUID | None
    is_read: bool
    kind: str
    model: str | None
    fallback: bool
    alternatives: int = 1
    """How many alternatives the message has (1 unless it is a regenerated reply)."""
    chosen_alternative: int = 1
    """Which of them `text` is, 1 being the first take."""


@dataclass(frozen=True)
class AlternativeView:
    alternative: int
    text: str
    model: str
    fallback: bool
    latency_ms: int
    created_at: datetime


@dataclass(frozen=True)
class ConversationView:
    conversation_id: UUID
    user_id: UUID
    character_id: UUID
    message_count: int
    last_message_preview: str | None
    started_at: datetime
    last_activity_at: datetime


_INSERT_MESSAGE: dict[tuple[type, str], str] = {}
"""The INSERT of a message, by read model and fresh suffix (which name its table)."""


@dataclass(slots=True)
class _Summary:
    conversation_id: UUID
    added: int = 0
    preview: str = ""
    last_message_id: UUID | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class MessagePage:
    messages: list[MessageView]
    next_before: UUID | None


class ConversationsProjection(Projection):
    """Messages per conversation (user × character) and each conversation's summary."""

    name = "conversations"
    # v2: a reply's alternatives are kept, and each message says which one it shows.
    version = 2
    table_stems = ("conversations", "conversation_messages", "reply_alternatives")

    @property
    def conversations_table(self) -> str:
        return self.table("conversations")

    @property
    def messages_table(self) -> str:
        return self.table("conversation_messages")

    @property
    def alternatives_table(self) -> str:
        return self.table("reply_alternatives")

    def ddl(self) -> list[str]:
        conversations, messages = self.conversations_table, self.messages_table
        alternatives = self.alternatives_table
        return [
            f"CREATE TABLE IF NOT EXISTS {conversations} ("
            " conversation_id {uuid} PRIMARY KEY,"
            " user_id {uuid} NOT NULL,"
            " character_id {uuid} NOT NULL,"
            " message_count {bigint} NOT NULL DEFAULT 0,"
            " last_message_preview TEXT,"
            " started_at {timestamp} NOT NULL,"
            " last_activity_at {timestamp} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {conversations}_user"
            f" ON {conversations} (user_id, last_activity_at)",
            f"CREATE TABLE IF NOT EXISTS {messages} ("
            " message_id {uuid} PRIMARY KEY,"
            " conversation_id {uuid} NOT NULL,"
            " seq {bigint} NOT NULL,"
            " sender TEXT NOT NULL,"
            " kind TEXT NOT NULL,"
            " text TEXT NOT NULL,"
            " in_reply_to {uuid},"
            " model TEXT,"
            " fallback {bool} NOT NULL DEFAULT FALSE,"
            " latency_ms {bigint},"
            " audio_ref TEXT,"
            " is_read {bool} NOT NULL DEFAULT FALSE,"
            " alternatives {bigint} NOT NULL DEFAULT 1,"
            " chosen_alternative {bigint} NOT NULL DEFAULT 1,"
            " created_at {timestamp} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {messages}_page ON {messages} (conversation_id, seq)",
            f"CREATE TABLE IF NOT EXISTS {alternatives} ("
            " message_id {uuid} NOT NULL,"
            " alternative {bigint} NOT NULL,"
            " conversation_id {uuid} NOT NULL,"
            " text TEXT NOT NULL,"
            " model TEXT NOT NULL,"
            " fallback {bool} NOT NULL,"
            " latency_ms {bigint} NOT NULL,"
            " created_at {timestamp} NOT NULL,"
            " PRIMARY KEY (message_id, alternative))",
        ]

    # -- handlers ----------------------------------------------------------------------

    @handles(Conversation.Started)
    def _started(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.conversations_table} (conversation_id, user_id, character_id,"
            " message_count, started_at, last_activity_at)"
            " VALUES (:id, :user_id, :character_id, 0, :at, :at)",
            {
                "id": event.originator_id,
                "user_id": event.user_id,
                "character_id": event.character_id,
                "at": event.timestamp,
            },
        )

    @handles(Conversation.UserMessageSent)
    def _user_message(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._add(cursor, event, position, sender="user", kind="text", text=event.text)

    @handles(Conversation.VoiceMessageReceived)
    def _voice_message(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._add(
            cursor,
            event,
            position,
            sender="user",
            kind="voice",
            text=event.transcript,
            audio_ref=event.audio_ref,
        )

    @handles(Conversation.CompanionReplied)
    def _reply(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._add(
            cursor,
            event,
            position,
            sender="character",
            kind="text",
            text=event.text,
            in_reply_to=event.in_reply_to,
            model=event.model,
            fallback=event.fallback,
            latency_ms=event.latency_ms,
        )
        # The first take is kept in reply_alternatives only once a second one comes
        # (most replies are never regenerated): a catch-up writes one row a reply.

    @handles(Conversation.ReplyRegenerated)
    def _regenerated(self, cursor: ViewCursor, event: Any, position: int) -> None:
        alternative = event.alternative
        if alternative is None:
            # Stored before v2: the next number, in the log's order.
            rows = cursor.query(
                f"SELECT alternatives FROM {self.messages_table} WHERE message_id = :message_id",
                {"message_id": event.message_id},
            )
            alternative = int(rows[0]["alternatives"]) + 1 if rows else 2
        if alternative == 2:
            self._keep_first_take(cursor, event.message_id)
        self._add_alternative(cursor, event, alternative)
        cursor.defer(
            f"UPDATE {self.messages_table} SET text = :text, model = :model, fallback = :fallback,"
            " latency_ms = :latency_ms, alternatives = :alternative,"
            " chosen_alternative = :alternative WHERE message_id = :message_id",
            {
                "text": event.text,
                "model": event.model,
                "fallback": event.fallback,
                "latency_ms": event.latency_ms,
                "alternative": alternative,
                "message_id": event.message_id,
            },
        )
        self._show_in_preview(cursor, event, event.text)

    @handles(Conversation.ReplyChosen)
    def _chosen(self, cursor: ViewCursor, event: Any, position: int) -> None:
        rows = cursor.query(
            f"SELECT text, model, fallback, latency_ms FROM {self.alternatives_table}"
            " WHERE message_id = :message_id AND alternative = :alternative",
            {"message_id": event.message_id, "alternative": event.alternative},
        )
        if not rows:
            return
        chosen = rows[0]
        cursor.defer(
            f"UPDATE {self.messages_table} SET text = :text, model = :model, fallback = :fallback,"
            " latency_ms = :latency_ms, chosen_alternative = :alternative"
            " WHERE message_id = :message_id",
            {
                "text": chosen["text"],
                "model": chosen["model"],
                "fallback": bool(chosen["fallback"]),
                "latency_ms": chosen["latency_ms"],
                "alternative": event.alternative,
                "message_id": event.message_id,
            },
        )
        self._show_in_preview(cursor, event, chosen["text"])

    def _keep_first_take(self, cursor: ViewCursor, message_id: UUID) -> None:
        """Copy the reply as first stored into reply_alternatives, as alternative 1."""
        cursor.execute(
            f"INSERT INTO {self.alternatives_table} (message_id, alternative, conversation_id,"
            " text, model, fallback, latency_ms, created_at)"
            " SELECT message_id, 1, conversation_id, text, COALESCE(model, ''), fallback,"
            f" COALESCE(latency_ms, 0), created_at FROM {self.messages_table}"
            " WHERE message_id = :message_id AND alternatives = 1",
            {"message_id": message_id},
        )

    def _add_alternative(self, cursor: ViewCursor, event: Any, alternative: int) -> None:
        cursor.defer(
            f"INSERT INTO {self.alternatives_table} (message_id, alternative, conversation_id,"
            " text, model, fallback, latency_ms, created_at) VALUES (:message_id, :alternative,"
            " :conversation_id, :text, :model, :fallback, :latency_ms, :at)",
            {
                "message_id": event.message_id,
                "alternative": alternative,
                "conversation_id": event.originator_id,
                "text": event.text,
                "model": event.model,
                "fallback": event.fallback,
                "latency_ms": event.latency_ms,
                "at": event.timestamp,
            },
        )

    def _show_in_preview(self, cursor: ViewCursor, event: Any, text: str) -> None:
        """A new text of the conversation's last message is its preview; older ones are not."""
        summaries: dict[int, _Summary] = cursor.scratch.setdefault(self.key, {})
        summary = summaries.get(event.originator_id.int)
        if summary is not None and summary.added:
            # The batch added messages to this conversation: its summary decides.
            if summary.last_message_id == event.message_id:
                summary.preview = text[:PREVIEW_CHARS]
            return
        cursor.defer(
            f"UPDATE {self.conversations_table} SET last_message_preview = :preview"
            " WHERE conversation_id = :conversation_id"
            f" AND (SELECT MAX(seq) FROM {self.messages_table}"
            "  WHERE conversation_id = :conversation_id)"
            f" = (SELECT seq FROM {self.messages_table} WHERE message_id = :message_id)",
            {
                "preview": text[:PREVIEW_CHARS],
                "conversation_id": event.originator_id,
                "message_id": event.message_id,
            },
        )

    @handles(Conversation.ReplySpoken)
    def _spoken(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"UPDATE {self.messages_table} SET audio_ref = :audio_ref"
            " WHERE message_id = :message_id",
            {"audio_ref": event.audio_ref, "message_id": event.message_id},
        )

    @handles(Conversation.MessageRead)
    def _read(self, cursor: ViewCursor, event: Any, position: int) -> None:
        # Reading a message means having read everything the character said before it.
        cursor.execute(
            f"UPDATE {self.messages_table} SET is_read = TRUE"
            " WHERE conversation_id = :conversation_id AND sender = 'character'"
            f" AND seq <= (SELECT seq FROM {self.messages_table} WHERE message_id = :message_id)",
            {"conversation_id": event.originator_id, "message_id": event.message_id},
        )

    def _add(
        self,
        cursor: ViewCursor,
        event: Any,
        position: int,
        *,
        sender: str,
        kind: str,
        text: str,
        in_reply_to: UUID | None = None,
        model: str | None = None,
        fallback: bool = False,
        latency_ms: int | None = None,
        audio_ref: str | None = None,
    ) -> None:
        # A catch-up comes here for most events: the statement is made once per table.
        # A new message is unread: is_read is left to its default, FALSE.
        statement = _INSERT_MESSAGE.get((type(self), self._fresh_suffix))
        if statement is None:
            statement = _INSERT_MESSAGE[type(self), self._fresh_suffix] = (
                f"INSERT INTO {self.messages_table}"
                " (message_id, conversation_id, seq, sender, kind, text, in_reply_to,"
                " model, fallback, latency_ms, audio_ref, created_at)"
                " VALUES (:message_id, :conversation_id, :seq, :sender, :kind, :text,"
                " :in_reply_to, :model, :fallback, :latency_ms, :audio_ref, :at)"
            )
        conversation_id, at = event.originator_id, event.timestamp
        cursor.defer(
            statement,
            {
                "message_id": event.message_id,
                "conversation_id": conversation_id,
                "seq": position,
                "sender": sender,
                "kind": kind,
                "text": text,
                "in_reply_to": in_reply_to,
                "model": model,
                "fallback": fallback,
                "latency_ms": latency_ms,
                "audio_ref": audio_ref,
                "at": at,
            },
        )
        # A conversation's summary changes once per batch, not once per message.
        # (Kept by the id's number: a UUID's hash and equality are Python code.)
        scratch = cursor.scratch
        summaries: dict[int, _Summary] | None = scratch.get(self.key)
        if summaries is None:
            summaries = scratch[self.key] = {}
        summary = summaries.get(conversation_id.int)
        if summary is None:
            summary = summaries[conversation_id.int] = _Summary(conversation_id)
        summary.added += 1
        summary.preview = text[:PREVIEW_CHARS]
        summary.last_message_id = event.message_id
        summary.at = at

    def before_commit(self, cursor: ViewCursor) -> None:
        summaries: dict[int, _Summary] = cursor.scratch.pop(self.key, {})
        statement = (
            f"UPDATE {self.conversations_table}"
            " SET message_count = message_count + :added,"
            " last_message_preview = :preview, last_activity_at = :at"
            " WHERE conversation_id = :id"
        )
        for summary in summaries.values():
            cursor.defer(
                statement,
                {
                    "added": summary.added,
                    "preview": summary.preview,
                    "at": summary.at,
                    "id": summary.conversation_id,
                },
            )

    # -- queries -----------------------------------------------------------------------

    def messages(
        self, store: ViewStore, conversation_id: UUID, *, before: UUID | None, limit: int
    ) -> MessagePage:
        """A page of messages, newest first; `before` is the oldest message already shown."""
        params: dict[str, Any] = {"conversation_id": conversation_id, "limit": limit + 1}
        where = "conversation_id = :conversation_id"
        if before is not None:
            where += (
                f" AND seq < (SELECT seq FROM {self.messages_table}"
                " WHERE message_id = :before AND conversation_id = :conversation_id)"
            )
            params["before"] = before
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.messages_table} WHERE {where} ORDER BY seq DESC LIMIT :limit",
                params,
            )
        page = [_message(row) for row in rows[:limit]]
        next_before = page[-1].message_id if len(rows) > limit and page else None
        return MessagePage(page, next_before)

    def alternatives(
        self, store: ViewStore, conversation_id: UUID, message_id: UUID
    ) -> list[AlternativeView]:
        """Every alternative of a reply, first take first (none for an unknown message)."""
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.alternatives_table} WHERE message_id = :message_id"
                " AND conversation_id = :conversation_id ORDER BY alternative",
                {"message_id": message_id, "conversation_id": conversation_id},
            )
        return [
            AlternativeView(
                alternative=int(row["alternative"]),
                text=row["text"],
                model=row["model"],
                fallback=bool(row["fallback"]),
                latency_ms=int(row["latency_ms"]),
                created_at=as_datetime(row["created_at"]),
            )
            for row in rows
        ]

    def conversation(self, store: ViewStore, conversation_id: UUID) -> ConversationView | None:
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.conversations_table} WHERE conversation_id = :id",
                {"id": conversation_id},
            )
        return _conversation(rows[0]) if rows else None


def _message(row: dict[str, Any]) -> MessageView:
    return MessageView(
        message_id=as_uuid(row["message_id"]),
        sender=row["sender"],
        text=row["text"],
        created_at=as_datetime(row["created_at"]),
        in_reply_to=as_optional_uuid(row["in_reply_to"]),
        is_read=bool(row["is_read"]),
        kind=row["kind"],
        model=row["model"],
        fallback=bool(row["fallback"]),
        alternatives=int(row["alternatives"]),
        chosen_alternative=int(row["chosen_alternative"]),
    )


def _conversation(row: dict[str, Any]) -> ConversationView:
    return ConversationView(
        conversation_id=as_uuid(row["conversation_id"]),
        user_id=as_uuid(row["user_id"]),
        character_id=as_uuid(row["character_id"]),
        message_count=int(row["message_count"]),
        last_message_preview=row["last_message_preview"],
        started_at=as_datetime(row["started_at"]),
        last_activity_at=as_datetime(row["last_activity_at"]),
    )
