"""In-character words for when the chat model cannot answer."""

from __future__ import annotations

import re

from companion.domain.characters import Persona

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def writes_japanese(text: str) -> bool:
    return bool(_JAPANESE.search(text))


def fallback_reply(persona: Persona, user_nickname: str, user_text: str) -> str:
    """A reply that stays in character while the model is unavailable."""
    if writes_japanese(user_text):
        return (
            f"ごめんね、{user_nickname}。今ちょっと頭がぼんやりしてて、うまく言葉が出てこないの。"
            "少ししたらもう一度話しかけてくれる？"
        )
    return (
        f"Sorry, {user_nickname}, my thoughts are all tangled up right now and the words "
        f"won't come. Talk to me again in a moment? — {persona.nickname}"
    )
