"""Turns of one conversation made at once by threads calling the use case.

Threads released together each send one turn to the same character, right
after its first turn: on SQLite, on PostgreSQL, and split between two
applications on one PostgreSQL database. Every turn is answered with the
reply stored for it, nothing fails, and the conversation's log holds each
message once, each followed at once by its own reply.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID, uuid4

import pytest

from companion.app.bootstrap import Companion
from companion.app.chat_results import ChatTurn
from companion.domain.characters import Persona
from companion.domain.identity import conversation_id, reply_id
from tests.support.companions import Companions
from tests.support.concurrency import run_together
from tests.support.personas import HANA


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def companions(request: pytest.FixtureRequest) -> Companions:
    built: Companions = request.getfixturevalue(f"{request.param}_companions")
    return built


def _send(companion: Companion, **turn: Any) -> ChatTurn:
    return companion.chat.send_message(**turn)


def _pair(companion: Companion) -> tuple[UUID, UUID]:
    user_id = companion.accounts.register(
        email=f"{uuid4().hex[:8]}@example.com", password="0123456789ab", name="T", nickname="T"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return user_id, character_id


def _failures(answers: list[Any]) -> Counter[str]:
    """How many calls failed, by error."""
    return Counter(f"{type(a).__name__}: {a}" for a in answers if isinstance(a, BaseException))


def _stored(companion: Companion, conversation: UUID) -> list[tuple[str, UUID, str]]:
    """(kind, message id, text) of every message in the conversation's log, in order."""
    return [
        (type(e).__name__, e.message_id, e.text)  # type: ignore[attr-defined]
        for e in companion.application.events.get(conversation)
        if type(e).__name__ in ("UserMessageSent", "CompanionReplied")
    ]


def _talk_at_once(companions: list[Companion], turns: int) -> None:
    first = companions[0]
    user_id, character_id = _pair(first)
    _send(first, user_id=user_id, character_id=character_id, text="はじめまして")

    texts = [f"同時送信テスト {i}" for i in range(turns)]
    answers = run_together(
        turns,
        lambda i: _send(
            companions[i % len(companions)],
            user_id=user_id,
            character_id=character_id,
            text=texts[i],
        ),
    )

    assert _failures(answers) == {}
    answered = {a.user_message_id: (t, a.reply_text) for t, a in zip(texts, answers, strict=True)}
    assert all(a.reply_message_id == reply_id(a.user_message_id) for a in answers)
    assert all(reply for _, reply in answered.values())

    stored = _stored(first, conversation_id(user_id, character_id))[2:]
    if len(companions) > 1:
        # Each process makes the conversation's turns one at a time; two processes'
        # turns interleave, each reply still after its own message, each stored once.
        said = {m: i for i, (kind, m, _) in enumerate(stored) if kind == "UserMessageSent"}
        replied = {m: i for i, (kind, m, _) in enumerate(stored) if kind == "CompanionReplied"}
        assert len(said) == len(replied) == turns
        assert all(replied[reply_id(m)] > at for m, at in said.items())
        texts_of = {m: text for _, m, text in stored}
        assert {m: (texts_of[m], texts_of[reply_id(m)]) for m in said} == answered
        return
    kinds = [kind for kind, _, _ in stored]
    assert kinds == ["UserMessageSent", "CompanionReplied"] * turns, kinds
    pairs = list(zip(stored[::2], stored[1::2], strict=True))
    # Each reply right after its own message.
    assert all(reply[1] == reply_id(said[1]) for said, reply in pairs)
    assert {said[1]: (said[2], reply[2]) for said, reply in pairs} == answered


@pytest.mark.parametrize("turns", [8, 32])
def test_turns_at_once_in_one_application_are_all_answered_and_kept_in_order(
    companions: Companions, turns: int
) -> None:
    _talk_at_once([companions()], turns)


@pytest.mark.postgres
@pytest.mark.parametrize("turns", [8, 32])
def test_turns_at_once_split_over_two_applications_are_all_answered_each_after_its_message(
    postgres_companions: Companions, postgres_url: str, turns: int
) -> None:
    first = postgres_companions(database_url=postgres_url)
    second = postgres_companions(database_url=postgres_url)
    _talk_at_once([first, second], turns)


def test_two_threads_each_sending_a_dozen_turns_lose_nothing(companions: Companions) -> None:
    companion = companions()
    user_id, character_id = _pair(companion)
    _send(companion, user_id=user_id, character_id=character_id, text="はじめまして")

    def talk(thread: int) -> list[ChatTurn]:
        return [
            _send(companion, user_id=user_id, character_id=character_id, text=f"{thread}.{n}")
            for n in range(12)
        ]

    answers = run_together(2, talk)
    assert _failures(answers) == {}
    stored = _stored(companion, conversation_id(user_id, character_id))[2:]
    assert [kind for kind, _, _ in stored] == ["UserMessageSent", "CompanionReplied"] * 24
    # Each thread's own turns keep the order it sent them in.
    sent = [text for kind, _, text in stored if kind == "UserMessageSent"]
    for thread in (0, 1):
        mine = [text for text in sent if text.startswith(f"{thread}.")]
        assert mine == [f"{thread}.{n}" for n in range(12)]
