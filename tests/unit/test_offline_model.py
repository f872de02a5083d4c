from __future__ import annotations

import re
from collections.abc import Callable
from itertools import chain

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.adapters.llm import offline_lines as lines
from companion.adapters.llm import offline_registers as registers
from companion.adapters.llm.offline import OfflinePersonaResponder, estimate_tokens
from companion.domain.characters import TRAITS, Persona
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.conversations import Turn
from companion.domain.limits import MAX_MESSAGE_CHARS
from companion.domain.replies import is_japanese
from tests.support.chat_turns import character_turn, user_turn

NICKNAME = "Mika"
AI_CLAIMS = ("as an ai", "language model", "gpt", "artificial intelligence", "chatbot", "openai")
SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？]")

responder = OfflinePersonaResponder()


def ask(
    persona: Persona, text: str, *turns: Turn, nickname: str = NICKNAME, level: int = 1
) -> ChatReply:
    return responder.reply(
        ChatRequest(
            persona=persona,
            user_nickname=nickname,
            user_text=text,
            recent_turns=turns,
            relationship_level=level,
        )
    )


def opening_pool(reply: str, language: str) -> str | None:
    """Which pool's lines the reply opens with (in any register), recognised from the templates."""
    for register in (lines.CUE_LINES, registers.POLITE_CUE_LINES, registers.CLOSE_CUE_LINES):
        for cue, templates in register.get(language, {}).items():
            for template in templates:
                pattern = re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template))
                if re.match(pattern, reply):
                    return cue
    return None


@pytest.fixture(scope="module")
def persona(make_persona: Callable[..., Persona]) -> Persona:
    return make_persona()


def test_it_presents_itself_as_the_offline_persona_responder(persona: Persona) -> None:
    reply = ask(persona, "Hello!")

    assert responder.name == reply.model == "offline-persona"
    assert not reply.fallback


def test_the_same_request_always_gets_the_same_reply(persona: Persona) -> None:
    turns = (user_turn("I baked bread"), character_turn("Nice!"))

    first = ask(persona, "What should I cook tonight?", *turns)
    again = OfflinePersonaResponder().reply(
        ChatRequest(
            persona=persona,
            user_nickname=NICKNAME,
            user_text="What should I cook tonight?",
            recent_turns=turns,
        )
    )

    assert first == again


def test_different_messages_get_varied_replies(persona: Persona) -> None:
    replies = {ask(persona, f"I did thing number {n} today").text for n in range(30)}

    assert len(replies) >= 5


@pytest.mark.parametrize(
    "text", ["こんにちは", "今日は雨だね", "カラオケ行きたい", "hello、元気？", "疲れた…"]
)
def test_japanese_in_gets_japanese_out(persona: Persona, text: str) -> None:
    assert is_japanese(ask(persona, text).text)


@pytest.mark.parametrize(
    "text", ["hello", "It rained all day.", "Wanna sing karaoke?", "🙂", "12345", "¿Qué tal?"]
)
def test_anything_else_gets_english_out(persona: Persona, text: str) -> None:
    reply = ask(persona, text).text

    assert not is_japanese(reply)
    assert reply.isascii()


@given(text=st.text(min_size=1))
def test_every_reply_calls_the_user_by_their_nickname(persona: Persona, text: str) -> None:
    assert NICKNAME in ask(persona, text).text


@given(text=st.text(), earlier=st.text())
def test_a_reply_is_never_empty_nor_longer_than_a_message(
    persona: Persona, text: str, earlier: str
) -> None:
    reply = ask(persona, text, user_turn(earlier), character_turn("ok"), user_turn(text, 3))

    assert reply.text.strip()
    assert len(reply.text) <= MAX_MESSAGE_CHARS
    assert 1 <= len(SENTENCE_END.findall(reply.text)) <= 3


def test_an_overlong_nickname_cannot_make_a_reply_overlong(persona: Persona) -> None:
    reply = ask(persona, "hi", nickname="M" * (MAX_MESSAGE_CHARS + 1))

    assert 0 < len(reply.text) <= MAX_MESSAGE_CHARS


@given(text=st.text())
def test_a_reply_never_claims_to_be_an_ai(persona: Persona, text: str) -> None:
    reply = ask(persona, text).text.casefold()

    assert not any(claim in reply for claim in AI_CLAIMS)


def test_no_template_line_claims_to_be_an_ai() -> None:
    pools = chain(
        *(
            pool.values()
            for register in (
                lines.CUE_LINES,
                registers.POLITE_CUE_LINES,
                registers.CLOSE_CUE_LINES,
                lines.TONE_LINES,
                registers.POLITE_TONE_LINES,
                lines.GENTLE_LINES,
                registers.POLITE_GENTLE_LINES,
                lines.CONCERN_QUESTIONS,
                registers.POLITE_CONCERN_QUESTIONS,
            )
            for pool in register.values()
        ),
        lines.RECALL_LINES.values(),
        registers.POLITE_RECALL_LINES.values(),
    )
    for template in chain.from_iterable(pools):
        assert not any(claim in template.casefold() for claim in AI_CLAIMS), template


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Hello!", "greeting"),
        ("good morning", "greeting"),
        ("Can you help me?", "question"),
        ("thanks a lot", "thanks"),
        ("Thank you for listening", "thanks"),
        ("I'm so tired today", "care"),
        ("feeling lonely tonight", "concern"),
        ("I went hiking in the hills", "hobby"),
        ("What do you do in your free time", "hobby"),
        ("I ate noodles for lunch", "default"),
        ("こんにちは", "greeting"),
        ("おはよう〜", "greeting"),
        ("ありがとう！", "thanks"),
        ("今日は本当に疲れた", "care"),
        ("寂しいな", "concern"),
        ("元気？", "question"),
        ("趣味は何", "hobby"),
        ("coffeeが好き", "hobby"),
        ("お昼にラーメンを食べた", "default"),
    ],
)
def test_it_reacts_to_simple_cues_in_both_languages(persona: Persona, text: str, cue: str) -> None:
    reply = ask(persona, text).text

    assert opening_pool(reply, "ja" if is_japanese(text) else "en") == cue


def test_a_sad_message_is_answered_before_its_greeting(persona: Persona) -> None:
    assert opening_pool(ask(persona, "hi, I feel so sad").text, "en") == "concern"


def test_a_mentioned_hobby_is_named_back(persona: Persona) -> None:
    assert "hiking" in ask(persona, "Went HIKING at dawn").text


def test_a_word_from_the_users_previous_message_is_picked_up(persona: Persona) -> None:
    turns = (user_turn("I went to the aquarium with my sister"), character_turn("Fun!"))

    assert "aquarium" in ask(persona, "I'm home", *turns).text


def test_a_topic_from_a_previous_japanese_message_is_picked_up(persona: Persona) -> None:
    turns = (user_turn("週末に水族館へ行ったよ"), character_turn("いいね！"))

    assert "水族館" in ask(persona, "ただいま", *turns).text


def test_the_current_message_is_not_mistaken_for_the_previous_one(persona: Persona) -> None:
    turns = (
        user_turn("The aquarium was lovely"),
        character_turn("Tell me more!"),
        user_turn("Now the museum", 3),
    )

    reply = ask(persona, "Now the museum", *turns).text

    assert "aquarium" in reply
    assert "museum" not in reply


def test_a_topic_in_another_language_is_not_picked_up(persona: Persona) -> None:
    turns = (user_turn("週末に水族館へ行ったよ"), character_turn("いいね！"))

    reply = ask(persona, "I'm home", *turns).text

    assert "水族館" not in reply
    assert not is_japanese(reply)


def test_without_a_previous_message_there_is_nothing_to_pick_up(persona: Persona) -> None:
    alone = ask(persona, "I'm home").text

    assert not any(
        re.search(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(t)), alone)
        for t in lines.RECALL_LINES["en"]
    )


def test_the_dominant_trait_sets_the_tone(make_persona: Callable[..., Persona]) -> None:
    def dominated_by(trait: str) -> Persona:
        return make_persona(personality={t: 0.9 if t == trait else 0.2 for t in TRAITS})

    for text in ("Hello!", "I ate noodles", "こんにちは", "疲れた"):
        replies = {trait: ask(dominated_by(trait), text).text for trait in TRAITS}
        assert len(set(replies.values())) == len(TRAITS), replies


def test_the_characters_japanese_first_person_follows_the_gender(
    make_persona: Callable[..., Persona],
) -> None:
    boyfriend = make_persona(gender="boyfriend")
    girlfriend = make_persona(gender="girlfriend")
    texts = [f"今日は{n}回目の散歩をしたよ" for n in range(40)]

    boyfriend_replies = "".join(ask(boyfriend, t).text for t in texts)
    girlfriend_replies = "".join(ask(girlfriend, t).text for t in texts)

    assert "俺" in boyfriend_replies
    assert "私" not in boyfriend_replies
    assert "私" in girlfriend_replies
    assert "俺" not in girlfriend_replies


def test_the_character_speaks_of_themselves_as_the_users_partner(
    make_persona: Callable[..., Persona],
) -> None:
    texts = [f"Day {n} was fine" for n in range(60)]
    partner = make_persona(personality={t: 0.9 if t == "kindness" else 0.1 for t in TRAITS})

    # Past the first, polite levels (see test_offline_feelings for the registers).
    replies = " ".join(ask(partner, text, level=5).text for text in texts)
    girlfriend = Persona.from_state({**partner.to_state(), "gender": "girlfriend"})
    girlfriend_replies = " ".join(ask(girlfriend, text, level=5).text for text in texts)

    assert "your boyfriend" in replies
    assert "your girlfriend" in girlfriend_replies


def test_the_age_colours_the_interjections(make_persona: Callable[..., Persona]) -> None:
    texts = [f"Day {n} was fine" for n in range(40)]

    young = [ask(make_persona(age=19), text).text for text in texts]
    mature = [ask(make_persona(age=60), text).text for text in texts]

    assert young != mature


def test_the_occupation_gets_the_right_article(make_persona: Callable[..., Persona]) -> None:
    engineer = make_persona(occupation="engineer")
    replies = " ".join(ask(engineer, f"Day {n} was fine").text for n in range(60))

    assert "an engineer" in replies
    assert "a engineer" not in replies


def test_a_persona_without_occupation_or_hobbies_still_gets_replies(
    make_persona: Callable[..., Persona],
) -> None:
    plain = make_persona(occupation=None, hobbies=[])

    for text in ("What are your hobbies?", "I'm tired", "今日はどうだった", "hey"):
        reply = ask(plain, text).text
        assert NICKNAME in reply
        assert "{" not in reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("hello", 2), ("hello there friend", 4), ("こんにちは", 5), ("hi 世界", 4)],
)
def test_token_counts_are_a_rough_estimate(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


def test_the_reply_reports_estimated_token_counts(persona: Persona) -> None:
    reply = ask(persona, "Tell me about your day", user_turn("earlier words"))

    assert reply.prompt_tokens > estimate_tokens("Tell me about your day")
    assert reply.completion_tokens == estimate_tokens(reply.text)


@pytest.mark.parametrize(
    "text",
    [
        "Good morning!",
        "What did you do today?",
        "I had ramen for lunch",
        "おはよう！",
        "今日は何してたの？",
        "I love you",
        "my cat got sick",
    ],
)
def test_a_new_take_answers_the_same_message_differently(persona: Persona, text: str) -> None:
    """A swipe asks for another take: it must not come back word for word."""
    takes = [
        responder.reply(
            ChatRequest(persona=persona, user_nickname=NICKNAME, user_text=text, take=take)
        ).text
        for take in (1, 2, 3)
    ]
    assert len(set(takes)) > 1, takes
    assert ask(persona, text).text == takes[0]  # the first take is the reply as ever
