"""The offline persona responder: template replies in character, no model behind them.

It is the embedded default chat model, so that a fresh install chats without
a network or a key. It answers from templates (`offline_lines`), in the user's
language, in the tone of the persona's dominant trait, and it says so in the
reply's `model` field. It never pretends to be a language model.

Deterministic by design: the same request always gets the same reply. Variety
comes from a stable hash of the user's text and the number of recent turns,
never from randomness, the clock or Python's per-process `hash()`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from string import Formatter

from companion.adapters.llm import offline_lines as lines
from companion.domain.characters import Persona
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.conversations import Turn
from companion.domain.limits import MAX_MESSAGE_CHARS
from companion.domain.replies import is_japanese

MODEL_NAME = "offline-persona"
MAX_TOPIC_CHARS = 30

_CJK_CHAR = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_NON_CJK_WORD = re.compile(r"[^\s\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
_EN_TOPIC = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_JA_TOPIC = re.compile(r"[\u30a0-\u30ff]{2,}|[\u3400-\u4dbf\u4e00-\u9fff]{2,}|[A-Za-z]{3,}")


def _en_pattern(words: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in words)
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])", re.IGNORECASE)


_EN_CUES = {cue: _en_pattern(words) for cue, words in lines.EN_CUE_WORDS.items()}


def estimate_tokens(text: str) -> int:
    """A rough token count, not a tokenizer's: one per CJK character, 4 per 3 other words."""
    cjk = len(_CJK_CHAR.findall(text))
    words = len(_NON_CJK_WORD.findall(text))
    return cjk + -(-words * 4 // 3)


class _Choices:
    """Stable choices from one digest; each slot reads different bytes of it."""

    def __init__(self, user_text: str, turns: int) -> None:
        key = f"{user_text}\x1f{turns}".encode("utf-8", "surrogatepass")
        self._digest = hashlib.blake2b(key, digest_size=32).digest()

    def pick(self, options: Sequence[str], slot: int) -> str:
        start = (slot * 2) % len(self._digest)
        number = int.from_bytes(self._digest[start : start + 2], "big")
        return options[number % len(options)]


@dataclass(frozen=True)
class _Reading:
    """What the responder noticed in the request."""

    language: str
    cue: str
    hobby: str | None
    topic: str | None


def _age_band(age: int) -> str:
    if age < 25:
        return "young"
    return "adult" if age < 40 else "mature"


def _mentioned_hobby(text: str, hobbies: Sequence[str]) -> str | None:
    folded = text.casefold()
    return next((hobby for hobby in hobbies if hobby.casefold() in folded), None)


def _find_cue(text: str, language: str, mentions_hobby: bool) -> str:
    for cue in lines.CUE_ORDER:
        if cue == "hobby" and mentions_hobby:
            return cue
        if cue == "question":
            if any(mark in text for mark in lines.QUESTION_MARKS):
                return cue
            continue
        if language == "ja":
            if any(word in text for word in lines.JA_CUE_WORDS[cue]):
                return cue
        elif _EN_CUES[cue].search(text):
            return cue
    return "default"


def _earlier_user_text(user_text: str, turns: Sequence[Turn]) -> str | None:
    """The user's previous message, skipping the current one if it is already a turn."""
    earlier = list(turns)
    if earlier and earlier[-1].sender == "user" and earlier[-1].text.strip() == user_text.strip():
        earlier.pop()
    return next((turn.text for turn in reversed(earlier) if turn.sender == "user"), None)


def _topic(text: str, hobbies: Sequence[str]) -> str | None:
    """A word worth picking up again: a hobby of the persona, else the longest content word."""
    hobby = _mentioned_hobby(text, hobbies)
    if hobby is not None:
        return hobby[:MAX_TOPIC_CHARS]
    pattern = _JA_TOPIC if is_japanese(text) else _EN_TOPIC
    words: list[str] = [
        word for word in pattern.findall(text) if word.casefold() not in lines.EN_STOPWORDS
    ]
    if not words:
        return None
    return max(words, key=len)[:MAX_TOPIC_CHARS]


def _read(request: ChatRequest, choices: _Choices) -> _Reading:
    text = request.user_text
    language = "ja" if is_japanese(text) else "en"
    hobbies = request.persona.hobbies
    hobby = _mentioned_hobby(text, hobbies)
    cue = _find_cue(text, language, mentions_hobby=hobby is not None)
    if cue == "hobby" and hobby is None:
        # The user asked about hobbies in general: the character talks about one of theirs.
        hobby = choices.pick(hobbies, slot=5) if hobbies else None
        if hobby is None:
            cue = "default"
    earlier = _earlier_user_text(text, request.recent_turns)
    # A topic is picked up only from a message in the language of the reply.
    same_language = earlier is not None and is_japanese(earlier) == (language == "ja")
    topic = _topic(earlier, hobbies) if earlier and same_language else None
    return _Reading(language=language, cue=cue, hobby=hobby, topic=topic)


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field}


def _usable(templates: Sequence[str], values: dict[str, str]) -> tuple[str, ...]:
    return tuple(t for t in templates if _fields(t) <= values.keys())


class OfflinePersonaResponder:
    """A ChatModel that answers in character from templates, without any model."""

    name = MODEL_NAME

    def reply(self, request: ChatRequest) -> ChatReply:
        choices = _Choices(request.user_text, len(request.recent_turns))
        reading = _read(request, choices)
        text = _compose(request.persona, request.user_nickname, reading, choices)
        prompt = " ".join(
            [_persona_text(request.persona), request.user_text]
            + [turn.text for turn in request.recent_turns]
        )
        # No tokenizer here: both counts are estimates, good enough for usage analytics.
        return ChatReply(
            text=text,
            model=MODEL_NAME,
            prompt_tokens=estimate_tokens(prompt),
            completion_tokens=estimate_tokens(text),
        )


def _persona_text(persona: Persona) -> str:
    return " ".join((persona.name, persona.nickname, persona.occupation or "", *persona.hobbies))


def _compose(persona: Persona, user_nickname: str, reading: _Reading, choices: _Choices) -> str:
    language = reading.language
    values = {
        "nick": user_nickname.strip() or ("きみ" if language == "ja" else "you"),
        "name": persona.name,
        "self_nick": persona.nickname,
        "role": lines.ROLE[language][persona.gender],
        "me": lines.FIRST_PERSON[persona.gender],
        "interj": choices.pick(lines.INTERJECTIONS[language][_age_band(persona.age)], slot=0),
    }
    if persona.occupation:
        values["occupation"] = persona.occupation
        article = "an" if persona.occupation[0].lower() in "aeiou" else "a"
        values["a_occupation"] = f"{article} {persona.occupation}"
    if reading.hobby:
        values["hobby"] = reading.hobby
    if reading.topic:
        values["topic"] = reading.topic

    templates = [_usable(lines.CUE_LINES[language][reading.cue], values)]
    if reading.topic:
        templates.append(lines.RECALL_LINES[language])
    templates.append(lines.TONE_LINES[language][persona.personality.dominant()])

    sentences = [
        choices.pick(pool, slot=1 + i).format_map(values) for i, pool in enumerate(templates)
    ]
    text = ("" if language == "ja" else " ").join(sentences)
    return text[:MAX_MESSAGE_CHARS]
