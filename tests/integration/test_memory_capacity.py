"""COMPANION_MEMORY_CAPACITY replaces the tiers' capacity: past it, the least valuable
memories of the book go (MemoryExpired, over capacity), and only they."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.app.bootstrap import bootstrap
from companion.domain.characters import Persona
from companion.domain.identity import memory_book_id
from companion.domain.memory import MemoryBook
from tests.support.personas import HANA
from tests.support.settings import cheap_settings

TOLD = ("I love strawberries.", "My dog is called Pochi.", "I work as a nurse.")


@pytest.mark.parametrize(("capacity", "kept"), [(2, 2), (None, 3)])
def test_a_book_keeps_no_more_than_the_capacity(
    tmp_path: Path, capacity: int | None, kept: int
) -> None:
    companion = bootstrap(
        cheap_settings(
            database_url="memory://",
            data_dir=tmp_path,
            catalogue_defaults=False,
            memory_capacity=capacity,
        )
    )
    try:
        application = companion.application
        user = companion.accounts.register(
            email="aiko@example.com", password="correct horse battery", name="A", nickname="A"
        )
        character, _ = companion.characters.create_character(
            user_id=user, persona=Persona.parse(**HANA)
        )
        for text in TOLD:
            companion.chat.send_message(user_id=user, character_id=character, text=text)

        book = application.repository.get(memory_book_id(user, character))
        assert isinstance(book, MemoryBook)
        live = book.memories(companion.uow.clock())
        assert len(live) == kept
        expired = [
            e for e in application.events.get(book.id) if isinstance(e, MemoryBook.MemoryExpired)
        ]
        assert len(expired) == 3 - kept
        assert all(e.over_capacity for e in expired)
    finally:
        companion.close()
