"""She remembers: told something, asked about it two hundred turns later, she says it back;
forgotten, it never comes back; greeted on the day of a plan, she asks about it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from companion.app.bootstrap import Companion
from companion.app.provenance import stored_reply
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from tests.support.clock import Clock
from tests.support.companions import Companions
from tests.support.users import user_with_character

START = datetime(2026, 4, 6, 3, tzinfo=UTC)
FILLER = ("What a long day.", "The weather was grey again.", "I watched a movie tonight.")
JA_FILLER = ("今日は長い一日だった。", "また雨が降ってたよ。", "夜に映画を見たよ。")


@pytest.fixture
def companion(memory_companions: Companions) -> Companion:
    companion = memory_companions()
    companion.uow.clock = Clock(START)
    return companion


def say(companion: Companion, user: UUID, character: UUID, text: str) -> tuple[UUID, str]:
    clock = companion.uow.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(minutes=2)
    turn = companion.chat.send_message(user_id=user, character_id=character, text=text)
    return turn.reply_message_id, turn.reply_text


def recalled_ids(companion: Companion, user: UUID, character: UUID, reply: UUID) -> list[UUID]:
    take = stored_reply(
        companion.uow, user_id=user, character_id=character, message_id=reply
    ).takes[0]
    assert take.provenance is not None
    return [memory_id for memory_id, _ in take.provenance.memories]


@pytest.mark.parametrize(
    ("told", "filler", "asked", "answer"),
    [
        (
            "My cat is called Mochi.",
            FILLER,
            "Do you remember what I told you about my cat?",
            "Mochi",
        ),
        ("うちの猫の名前はモチだよ", JA_FILLER, "猫のこと覚えてる？", "モチ"),
    ],
)
def test_told_about_her_cat_she_remembers_two_hundred_turns_later_until_forgotten(
    companion: Companion, told: str, filler: tuple[str, ...], asked: str, answer: str
) -> None:
    user, character = user_with_character(companion)
    say(companion, user, character, told)
    book = companion.application.repository.get(memory_book_id(user, character))
    assert isinstance(book, MemoryBook)
    [memory] = book.memories(companion.uow.clock())
    for n in range(200):
        say(companion, user, character, filler[n % len(filler)])

    reply, text = say(companion, user, character, asked)

    assert answer in text
    assert recalled_ids(companion, user, character, reply)[0] == memory.memory_id

    companion.memories.forget(user_id=user, character_id=character, memory_id=memory.memory_id)
    again, text_again = say(companion, user, character, asked)

    assert answer not in text_again
    assert memory.memory_id not in recalled_ids(companion, user, character, again)


@pytest.mark.parametrize(
    ("plan", "greeting", "what"),
    [
        ("Tomorrow I'm going to the dentist.", "Good morning!", "dentist"),
        ("明日は歯医者に行く", "おはよう！", "歯医者"),
    ],
)
def test_a_good_morning_on_the_day_of_a_plan_asks_about_it_once(
    companion: Companion, plan: str, greeting: str, what: str
) -> None:
    user, character = user_with_character(companion)
    _, first = say(companion, user, character, plan)
    assert what not in first
    clock = companion.uow.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(days=1)

    _, text = say(companion, user, character, greeting)
    _, later = say(companion, user, character, greeting)

    assert what in text
    assert what not in later


def test_a_fact_said_again_is_one_memory_and_a_correction_replaces_it(
    companion: Companion,
) -> None:
    user, character = user_with_character(companion)
    say(companion, user, character, "My cat is called Mochi.")
    say(companion, user, character, "I have a cat named Mochi")
    say(companion, user, character, "My cat is called Kuro.")

    book = companion.application.repository.get(memory_book_id(user, character))
    assert isinstance(book, MemoryBook)
    [memory] = book.memories(companion.uow.clock())
    assert memory.value == "Kuro"
    _, text = say(companion, user, character, "Do you remember my cat?")
    assert "Kuro" in text
    assert "Mochi" not in text
