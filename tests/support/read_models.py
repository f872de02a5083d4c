"""What a companion's read models hold, read back whole."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from companion.app.bootstrap import Companion
from projections.conversations import MessageView


def all_messages(companion: Companion, conv_id: UUID, limit: int = 100) -> list[MessageView]:
    """Every message of a conversation, newest first, walking the pages."""
    conversations = companion.read_models.conversations
    messages: list[MessageView] = []
    before = None
    while True:
        page = conversations.messages(companion.views, conv_id, before=before, limit=limit)
        messages.extend(page.messages)
        if page.next_before is None:
            return messages
        before = page.next_before


def dumps(companion: Companion) -> dict[str, Any]:
    """Every read model's tables, by read model name."""
    return {p.name: p.dump(companion.views) for p in companion.read_models.all()}
