"""A large event log, written fast: stored events built by the application's mapper, then COPY.

Saving a million events through the application would take longer than the
benchmarks that read them. Instead one conversation's events (its start, a
user's message, the reply) are encoded once by the application's own mapper;
every conversation of the log is those templates with fresh ids substituted
into their stored state, and the rows go into the events table with one COPY.
The log reads back exactly as if the application had written it: the same
topics, the same encoding, one conversation per stream, turns interleaved
round-robin across conversations.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql

from benchmarks.harness import REPLY_TEXT, USER_TEXT
from companion.domain.conversations import Conversation

_USER, _CHARACTER, _MESSAGE = UUID(int=1), UUID(int=2), UUID(int=3)


class _Templates:
    """A conversation's three kinds of stored event, and the ids to replace in each."""

    def __init__(self, mapper: Mapper) -> None:  # type: ignore[type-arg]
        conversation = Conversation(user_id=_USER, character_id=_CHARACTER)
        conversation.send_user_message(USER_TEXT, client_message_id=None, message_id=_MESSAGE)
        conversation.reply(
            in_reply_to=_MESSAGE,
            text=REPLY_TEXT,
            model="bench",
            latency_ms=1,
            prompt_tokens=0,
            completion_tokens=0,
            fallback=False,
        )
        started, sent, replied = (mapper.to_stored_event(e) for e in conversation.collect_events())
        self.started = (started.topic, started.state)
        self.sent = (sent.topic, sent.state)
        self.replied = (replied.topic, replied.state)
        for event in (sent, replied):
            assert _MESSAGE.hex.encode() in event.state
        self.reply_hex = _reply_hex(replied.state)


def _reply_hex(state: bytes) -> bytes:
    marker = b'"message_id":{"_type_":"uuid_hex","_data_":"'
    start = state.index(marker) + len(marker)
    return state[start : start + 32]


def copy_log(url: str, table: str, mapper: Mapper, events: int, conversations: int) -> int:  # type: ignore[type-arg]
    """Write `events` events over `conversations` conversations; returns the log's head."""
    templates = _Templates(mapper)
    base = uuid4().int & ~((1 << 64) - 1)  # ids unique to this run

    def fresh(n: int) -> bytes:
        return f"{base | n:032x}".encode()

    streams = [uuid4() for _ in range(conversations)]
    versions = [0] * conversations
    awaiting: list[bytes | None] = [None] * conversations
    user_hex, character_hex = _USER.hex.encode(), _CHARACTER.hex.encode()
    message_hex = _MESSAGE.hex.encode()
    copy_statement = sql.SQL(
        "COPY {} (originator_id, originator_version, topic, state, notification_id) FROM STDIN"
    ).format(sql.Identifier(table))
    with psycopg.connect(url) as conn:
        with conn.cursor() as cursor, cursor.copy(copy_statement) as copy:
            for position in range(1, events + 1):
                index = (position - 1) % conversations
                versions[index] += 1
                version = versions[index]
                if version == 1:
                    topic, state = templates.started
                    state = state.replace(user_hex, fresh(2 * position)).replace(
                        character_hex, fresh(2 * position + 1)
                    )
                elif awaiting[index] is None:
                    topic, state = templates.sent
                    awaiting[index] = fresh(2 * position)
                    state = state.replace(message_hex, awaiting[index] or b"")
                else:
                    topic, state = templates.replied
                    state = state.replace(message_hex, awaiting[index] or b"").replace(
                        templates.reply_hex, fresh(2 * position)
                    )
                    awaiting[index] = None
                copy.write_row((streams[index], version, topic, state, position))
        # Whatever draws the next ids (a sequence, or a counter row) starts after the log.
        row = conn.execute(
            "SELECT pg_get_serial_sequence(%s, 'notification_id')", (table,)
        ).fetchone()
        if row is not None and row[0] is not None:
            conn.execute("SELECT setval(%s, %s)", (row[0], events))
        head_table = f"{table}_head"
        row = conn.execute("SELECT to_regclass(%s)", (head_table,)).fetchone()
        if row is not None and row[0] is not None:
            conn.execute(
                sql.SQL("UPDATE {} SET last = %s").format(sql.Identifier(head_table)), (events,)
            )
    with psycopg.connect(url, autocommit=True) as conn:
        # Settle the table (hint bits, statistics) so every run reads the same pages.
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    return events
