"""The offline persona responder: template replies in character, no model behind them.

It is the embedded default chat model, so that a fresh install chats without
a network or a key. It answers from templates (`offline_lines`), in the user's
language, in the tone of the persona's dominant trait, and it says so in the
reply's `model` field. It never pretends to be a language model.

It answers as someone who feels: the message's sentiment (scored here when the
request carries none) picks the kind of reply (affection back, concern and a
question after bad news, care for tiredness, hurt or firmness after an insult,
a comeback to teasing, warmth for thanks, joy shared); the relationship level
picks the register (polite at first, familiar later); a low mood answers more
quietly. Topics are whole content words, never filler.

Deterministic by design: the same request always gets the same reply. Variety
comes from a stable hash of the user's text and the number of recent turns,
never from randomness, the clock or Python's per-process `hash()`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from string import Formatter

from companion.adapters.llm import offline_lines as lines
from companion.adapters.llm import offline_registers as registers
from companion.adapters.llm.offline_lines import Lines
from companion.adapters.llm.offline_memories import plan_line, recall_line
from companion.adapters.llm.offline_topics import MAX_TOPIC_CHARS, news_topic, topic
from companion.adapters.sentiment import LexiconSentimentScorer
from companion.domain.characters import Persona
from companion.domain.chat import ChatDelta, ChatDone, ChatReply, ChatRequest, ChatStreamItem
from companion.domain.conversations import Turn
from companion.domain.limits import MAX_MESSAGE_CHARS
from companion.domain.replies import is_japanese
from companion.domain.sentiment import Sentiment

MODEL_NAME = "offline-persona"

_CJK_CHAR = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_NON_CJK_WORD = re.compile(r"[^\s\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
QUIET_MOOD = -30
"""At or below this mood the character answers quietly: no exclamations, no closing line."""
POLITE_LEVELS = range(1, 3)
CLOSE_LEVELS = range(7, 11)
_SCORER = LexiconSentimentScorer()


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

    def __init__(self, user_text: str, turns: int, take: int = 1) -> None:
        # A first take keeps the key it always had, so replies stay as they were.
        suffix = "" if take == 1 else f"\x1f{take}"
        key = f"{user_text}\x1f{turns}{suffix}".encode("utf-8", "surrogatepass")
        self._digest = hashlib.blake2b(key, digest_size=32).digest()

    def pick(self, options: Sequence[str], slot: int) -> str:
        start = (slot * 2) % len(self._digest)
        number = int.from_bytes(self._digest[start : start + 2], "big")
        return options[number % len(options)]


@dataclass(frozen=True)
class _Reading:
    """What the responder noticed in the request."""

    language: str
    kind: str
    pool: str
    hobby: str | None
    topic: str | None
    news_topic: str | None


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


def _recall(text: str, hobbies: Sequence[str]) -> str | None:
    """A word worth picking up again: a hobby of the persona, else the longest content word."""
    hobby = _mentioned_hobby(text, hobbies)
    if hobby is not None:
        return hobby[:MAX_TOPIC_CHARS]
    return topic(text)


def _kind(sentiment: Sentiment, cue: str, is_question: bool, mentions_hobby: bool) -> str:
    """The kind of reply a message gets, from how it feels first and its cues second."""
    top = sentiment.emotions[0][0] if sentiment.emotions else None
    if top == "teasing" and sentiment.polarity != "negative":
        return "teased"
    if sentiment.polarity == "negative":
        if top == "anger":
            return "anger"
        if top == "teasing":
            return "teased"
        if top == "tiredness":
            return "care"
        return "concern"
    if cue in ("care", "concern"):
        return cue
    if sentiment.polarity == "positive":
        if sentiment.weight("affection") >= 0.3 and not mentions_hobby:
            return "affection"
        if sentiment.weight("gratitude") >= 0.3:
            return "thanks"
    if cue in ("thanks", "hobby", "greeting"):
        return cue
    if is_question:
        return "question"
    if sentiment.polarity == "positive" and top in ("joy", "excitement", "surprise"):
        return "joy"
    return cue


def reply_kind(request: ChatRequest) -> str:
    """The kind of reply the responder gives this request: affection, concern, care, anger,
    teased, thanks, joy, hobby, greeting, question or default."""
    return _read(request, _Choices(request.user_text, len(request.recent_turns), request.take)).kind


def _pool_for(kind: str, persona: Persona) -> str:
    trait = persona.personality.dominant()
    if kind == "affection":
        return "affection_shy" if trait in ("seriousness", "humor") else "affection_warm"
    if kind == "anger":
        return "hurt" if trait in ("kindness", "empathy", "humor") else "firm"
    return kind


def _read(request: ChatRequest, choices: _Choices) -> _Reading:
    text = request.user_text
    language = "ja" if is_japanese(text) else "en"
    hobbies = request.persona.hobbies
    hobby = _mentioned_hobby(text, hobbies)
    cue = _find_cue(text, language, mentions_hobby=hobby is not None)
    sentiment = request.sentiment if request.sentiment is not None else _SCORER.score(text)
    is_question = any(mark in text for mark in lines.QUESTION_MARKS)
    kind = _kind(sentiment, cue, is_question, mentions_hobby=hobby is not None)
    if kind == "hobby" and hobby is None:
        # The user asked about hobbies in general: the character talks about one of theirs.
        hobby = choices.pick(hobbies, slot=5) if hobbies else None
        if hobby is None:
            kind = "default"
    about = news_topic(text) if kind == "concern" else None
    earlier = _earlier_user_text(text, request.recent_turns)
    # A topic is picked up only from a message in the language of the reply.
    same_language = earlier is not None and is_japanese(earlier) == (language == "ja")
    recalled = _recall(earlier, hobbies) if earlier and same_language else None
    return _Reading(
        language=language,
        kind=kind,
        pool=_pool_for(kind, request.persona),
        hobby=hobby,
        topic=recalled,
        news_topic=about,
    )


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field}


def _usable(templates: Sequence[str], values: dict[str, str]) -> tuple[str, ...]:
    return tuple(t for t in templates if _fields(t) <= values.keys())


class OfflinePersonaResponder:
    """A ChatModel that answers in character from templates, without any model."""

    name = MODEL_NAME

    def reply(self, request: ChatRequest) -> ChatReply:
        choices = _Choices(request.user_text, len(request.recent_turns), request.take)
        reading = _read(request, choices)
        text = _compose(request, reading, choices)
        text = _with_memories(request, reading, choices, text)
        told = _tells_the_day(request, reading)
        if told:
            assert request.daily_event is not None
            intro = choices.pick(lines.DAY_INTROS[reading.language], slot=9)
            space = "" if reading.language == "ja" else " "
            text = f"{text}{space}{intro}{space}{request.daily_event}"[:MAX_MESSAGE_CHARS]
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
            told_daily_event=told,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatStreamItem]:
        """The same reply as `reply`, streamed word by word (phrase by phrase in Japanese)."""
        answer = self.reply(request)
        for piece in stream_pieces(answer.text):
            yield ChatDelta(piece)
        yield ChatDone(answer)


def _with_memories(request: ChatRequest, reading: _Reading, choices: _Choices, text: str) -> str:
    """Asked to remember, she answers from her memories; greeted, she may ask about a plan."""
    language = reading.language
    nick = request.user_nickname.strip() or ("きみ" if language == "ja" else "you")
    remembered = recall_line(request, language, nick, choices.pick)
    if remembered is not None:
        return remembered[:MAX_MESSAGE_CHARS]
    if reading.kind in ("greeting", "default", "question"):
        asked = plan_line(request, language, choices.pick, text)
        if asked is not None:
            space = "" if language == "ja" else " "
            return f"{text}{space}{asked}"[:MAX_MESSAGE_CHARS]
    return text


_PIECE = re.compile(r"[^\s、。！？!?]+[\s、。！？!?]*|[\s、。！？!?]+")


def stream_pieces(text: str) -> list[str]:
    """The text in the pieces it is streamed in; joined, they are the text again."""
    return _PIECE.findall(text)


# Replies about the user's own feelings stay about the user; lighter ones make room
# for something from the character's day.
DAY_TELLING_KINDS = frozenset({"default", "greeting", "question", "hobby", "joy", "thanks"})


def _tells_the_day(request: ChatRequest, reading: _Reading) -> bool:
    return bool(request.daily_event) and reading.kind in DAY_TELLING_KINDS


def _persona_text(persona: Persona) -> str:
    return " ".join((persona.name, persona.nickname, persona.occupation or "", *persona.hobbies))


def register(level: int) -> str:
    """How the character speaks at a relationship level: polite, friendly or close."""
    if level in POLITE_LEVELS or level < POLITE_LEVELS.start:
        return "polite"
    return "close" if level in CLOSE_LEVELS or level > CLOSE_LEVELS.stop else "friendly"


def _cue_pool(language: str, pool: str, band: str) -> Sequence[str]:
    overlay = {"polite": registers.POLITE_CUE_LINES, "close": registers.CLOSE_CUE_LINES}.get(
        band, {}
    )
    return overlay.get(language, {}).get(pool) or lines.CUE_LINES[language][pool]


def _in_register(
    language: str, band: str, friendly: Sequence[str], polite: Mapping[str, Sequence[str]]
) -> Sequence[str]:
    if band == "polite" and language in polite:
        return polite[language]
    return friendly


def _compose(request: ChatRequest, reading: _Reading, choices: _Choices) -> str:
    persona = request.persona
    language = reading.language
    band = register(request.relationship_level)
    polite_ja = band == "polite" and language == "ja"
    nick = request.user_nickname.strip() or ("きみ" if language == "ja" else "you")
    values = {
        "nick": nick,
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
    trait = persona.personality.dominant()
    quiet = request.mood is not None and request.mood <= QUIET_MOOD

    opening = _usable(_cue_pool(language, reading.pool, band), values)
    if not opening:
        opening = _usable(lines.CUE_LINES[language][reading.pool], values)
    templates: list[Sequence[str]] = [opening]
    if reading.kind == "concern":
        # Bad news gets a question about it, then a gentle closing line.
        questions = lines.CONCERN_QUESTIONS[language]
        if polite_ja:
            questions = registers.POLITE_CONCERN_QUESTIONS["ja"]
        if reading.news_topic:
            values["topic"] = reading.news_topic
            templates.append(questions["topic"])
        else:
            templates.append(questions["plain"])
    elif reading.topic and reading.kind in ("default", "greeting", "question", "hobby", "joy"):
        values["topic"] = reading.topic
        templates.append(
            _in_register(
                language, band, lines.RECALL_LINES[language], registers.POLITE_RECALL_LINES
            )
        )
    if reading.kind in ("concern", "care"):
        gentle = _in_register(
            language,
            band,
            lines.GENTLE_LINES[language][trait],
            _by_trait(registers.POLITE_GENTLE_LINES, trait),
        )
        templates.append(gentle)
    elif reading.kind not in ("anger", "teased") and not quiet:
        tone = _in_register(
            language,
            band,
            lines.TONE_LINES[language][trait],
            _by_trait(registers.POLITE_TONE_LINES, trait),
        )
        templates.append(tone)

    sentences = [
        choices.pick(pool, slot=1 + i).format_map(values) for i, pool in enumerate(templates)
    ]
    text = ("" if language == "ja" else " ").join(sentences)
    if quiet:
        text = text.replace("！", "。").replace("!", ".")
    return text[:MAX_MESSAGE_CHARS]


def _by_trait(pools: dict[str, dict[str, Lines]], trait: str) -> dict[str, Sequence[str]]:
    return {language: by_trait[trait] for language, by_trait in pools.items()}
