"""What a steady chat turn says to PostgreSQL, counted on the wire (libpq's protocol trace).

A turn reads the aggregates it only reads in one statement, reads nothing of
the aggregates it changes (the store's version check decides), never asks for
the head of the log, and writes in two saves: the user's message, then the
reply with the mood: at most two round trips a stored event. Its admission
against the message limits, counted here as the API counts it, reads the
user's tier from that same statement.
"""

from __future__ import annotations

import re
from pathlib import Path
from uuid import UUID

import pytest

from companion.adapters.rate_limit import MemoryMessageLimiter
from companion.app.application import CompanionApplication
from companion.app.bootstrap import Companion
from companion.app.chat_results import ChatTurn
from companion.app.message_limits import MessageLimits
from companion.domain.characters import Persona
from companion.domain.sessions import Session
from tests.support.companions import Companions
from tests.support.personas import HANA
from tests.support.wire import Traffic, Wire

pytestmark = pytest.mark.postgres
TURNS = 6
TEXT = "今日は仕事が長かったけど、帰り道の夕焼けがすごくきれいだったよ。"


def _reads_of_the_store(traffic: Traffic, app: CompanionApplication) -> dict[str, int]:
    """The statements that read the events or the snapshots, with their counts."""
    assert app.snapshots is not None
    names = [app.recorder.events_table_name, app.snapshots.recorder.events_table_name]  # type: ignore[attr-defined]
    tables = re.compile("|".join(rf"""['"]{re.escape(name)}['"]""" for name in names))
    return {
        statement: count
        for statement, count in traffic.by_statement.items()
        if statement.upper().startswith("SELECT") and tables.search(statement)
    }


def _pair(companion: Companion) -> tuple[UUID, UUID]:
    user_id = companion.accounts.register(
        email="s@example.com", password="0123456789ab", name="S", nickname="S"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return user_id, character_id


def test_a_steady_chat_turn_reads_once_and_writes_two_saves(
    postgres_companions: Companions, tmp_path: Path
) -> None:
    # One connection: what it prepares once, it has prepared for every later turn.
    companion = postgres_companions(postgres_pool_size=1)
    app = companion.application
    limits = MessageLimits(
        companion.accounts, MemoryMessageLimiter(), per_minute=1000, per_day=1000
    )
    user_id, character_id = _pair(companion)

    def turn() -> ChatTurn:
        return companion.chat.send_message(
            user_id=user_id, character_id=character_id, text=TEXT, limits=limits
        )

    wire = Wire(tmp_path)
    try:
        for _ in range(3):
            turn()
        wire.watch(app.recorder.datastore.pool, "events")  # type: ignore[attr-defined]
        for _ in range(3):  # every pooled connection traced from here on
            turn()

        before = wire.traffic()
        first = turn().position
        for _ in range(TURNS - 1):
            last = turn()
        turns = wire.traffic() - before

        before = wire.traffic()
        companion.uow.save(Session(user_id=user_id, device=None, started_at=companion.uow.clock()))
        one_save = wire.traffic() - before
        before = wire.traffic()
        with companion.uow.checked([user_id, character_id]):
            pass
        one_read = wire.traffic() - before
    finally:
        wire.close()

    assert first is not None
    assert last.position is not None
    events_per_turn = (last.position - first) / (TURNS - 1)
    assert events_per_turn == 3  # the user's message, the reply, the mood

    # The aggregates a turn only reads: one statement for all of them, the day's
    # event and the memory book included; none for those it changes.
    reads = _reads_of_the_store(turns, app)
    assert list(reads.values()) == [TURNS], reads
    assert "unnest" in next(iter(reads))
    assert not [s for s in turns.by_statement if "MAX(NOTIFICATION_ID)" in s.upper()]

    # A healthy pooled connection is lent without a ping.
    assert "(empty query: pre-ping)" not in turns.by_statement

    # Round trips: that read, and two saves, each as many as a save alone; at most
    # two a stored event.
    assert turns.round_trips == TURNS * (one_read.round_trips + 2 * one_save.round_trips)
    assert turns.statements == TURNS * (one_read.statements + 2 * one_save.statements)
    assert turns.round_trips <= 2 * events_per_turn * TURNS
