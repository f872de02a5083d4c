"""In-character words for when the chat model cannot answer."""

from __future__ import annotations

import re

from companion.domain.characters import Persona

# Kana (full- and half-width) and kanji.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def is_japanese(text: str) -> bool:
    """Japanese if the text has any kana or kanji."""
    return _JAPANESE.search(text) is not None


def fallback_reply(persona: Persona, user_nickname: str, user_text: str) -> str:
    """A reply that stays in character while the model is unavailable."""
    if is_japanese(user_text):
        return (
            f"ごめんね、{user_nickname}。今ちょっと頭がぼんやりしてて、うまく言葉が出てこないの。"
            "少ししたらもう一度話しかけてくれる？"
        )
    return (
        f"Sorry, {user_nickname}, my thoughts are all tangled up right now and the words "
        f"won't come. Talk to me again in a moment? — {persona.nickname}"
    )
