"""The offline responder answers as someone who feels: the kind of reply each message gets."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.adapters.llm import offline_lines as lines
from companion.adapters.llm import offline_registers as registers
from companion.adapters.llm.offline import OfflinePersonaResponder, register, reply_kind
from companion.adapters.llm.offline_topics import topic_words
from companion.domain.characters import TRAITS, Persona
from companion.domain.chat import ChatRequest
from companion.domain.replies import is_japanese
from companion.domain.sentiment import Sentiment
from tests.support.chat_turns import character_turn, user_turn

NICKNAME = "Mika"
LEVELS = (1, 5, 9)
# The pools a reply of each kind may open with; a kind's lines are its markers.
POOLS = {
    "affection": {"affection_warm", "affection_shy"},
    "anger": {"hurt", "firm"},
}
QUESTION = re.compile(r"[?？]")
responder = OfflinePersonaResponder()


def request(persona: Persona, text: str, **fields: object) -> ChatRequest:
    return ChatRequest(persona=persona, user_nickname=NICKNAME, user_text=text, **fields)  # type: ignore[arg-type]


def opening_pool(reply: str, language: str) -> str | None:
    """Which pool the reply opens with, in any register, recognised from the templates."""
    for lines_by_register in (
        registers.POLITE_CUE_LINES,
        registers.CLOSE_CUE_LINES,
        lines.CUE_LINES,
    ):
        for pool, templates in lines_by_register.get(language, {}).items():
            for template in templates:
                pattern = re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template))
                if re.match(pattern, reply):
                    return pool
    return None


@pytest.fixture(scope="module")
def persona(make_persona: Callable[..., Persona]) -> Persona:
    return make_persona()


def dominated_by(make_persona: Callable[..., Persona], trait: str) -> Persona:
    return make_persona(personality={t: 0.9 if t == trait else 0.2 for t in TRAITS})


FEELINGS = [
    ("I love you", "affection"),
    ("I missed you so much today", "affection"),
    ("you're the best ❤️", "affection"),
    ("😘", "affection"),
    ("my cat got sick", "concern"),
    ("My grandma passed away last night", "concern"),
    ("I failed my exam", "concern"),
    ("I lost my job today", "concern"),
    ("I feel so lonely", "concern"),
    ("I'm worried about my dad", "concern"),
    ("my best friend ignored me all day 😢", "concern"),
    ("I'm exhausted after work", "care"),
    ("so tired today 😩", "care"),
    ("I can't sleep again", "care"),
    ("you're stupid", "anger"),
    ("I hate you", "anger"),
    ("shut up", "anger"),
    ("you are useless 😡", "anger"),
    ("you're such a dork lol", "teased"),
    ("you idiot haha", "teased"),
    ("thank you so much for listening", "thanks"),
    ("thanks, that really helped", "thanks"),
    ("I got the job!!!", "joy"),
    ("I passed my driving test!", "joy"),
    ("we won the match 🎉", "joy"),
    ("Hello!", "greeting"),
    ("What are you doing?", "question"),
    ("I had curry for dinner", "default"),
    ("大好き", "affection"),
    ("愛してる", "affection"),
    ("会いたかった", "affection"),
    ("君が好きだよ", "affection"),
    ("猫が病気になった", "concern"),
    ("おばあちゃんが亡くなった", "concern"),
    ("試験に落ちた", "concern"),
    ("寂しい", "concern"),
    ("検査の結果が心配", "concern"),
    ("仕事クビになった", "concern"),
    ("疲れた", "care"),
    ("残業でヘトヘト", "care"),
    ("眠れない", "care"),
    ("バカ", "anger"),
    ("うざい", "anger"),
    ("黙れ", "anger"),
    ("お前なんか大嫌い", "anger"),
    ("バカだなw", "teased"),
    ("ありがとう！", "thanks"),
    ("本当に助かった、感謝してる", "thanks"),
    ("合格した！！", "joy"),
    ("やったー！内定もらった", "joy"),
    ("今日めっちゃ楽しかった", "joy"),
    ("こんにちは", "greeting"),
    ("今何してる？", "question"),
    ("お昼にラーメンを食べた", "default"),
]


@pytest.mark.parametrize(("text", "kind"), FEELINGS)
def test_each_message_gets_the_kind_of_answer_it_calls_for(
    persona: Persona, text: str, kind: str
) -> None:
    language = "ja" if is_japanese(text) else "en"
    for level in LEVELS:
        ask = request(persona, text, relationship_level=level)
        reply = responder.reply(ask).text

        assert reply_kind(ask) == kind
        assert opening_pool(reply, language) in POOLS.get(kind, {kind}), (level, reply)
        if kind == "concern":
            assert QUESTION.search(reply), (level, reply)


def test_the_set_covers_both_languages_and_every_feeling() -> None:
    japanese = [text for text, _ in FEELINGS if is_japanese(text)]

    assert len(FEELINGS) >= 40
    assert 20 <= len(japanese) <= len(FEELINGS) - 20
    for kind in ("affection", "concern", "care", "anger", "teased", "thanks", "joy"):
        kinds = {is_japanese(text) for text, k in FEELINGS if k == kind}
        assert kinds == {True, False} or kind == "teased", kind


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("my cat got sick", "your cat"),
        ("my best friend is in the hospital", "your best friend"),
        ("I failed my exam", "your exam"),
        ("猫が病気になった", "猫"),
        ("父が入院した", "父"),
        ("試験に落ちた", "試験"),
    ],
)
def test_bad_news_is_asked_about_by_name(persona: Persona, text: str, named: str) -> None:
    reply = responder.reply(request(persona, text)).text

    assert named in reply
    assert QUESTION.search(reply)


def test_affection_is_answered_shyly_or_warmly_by_personality(
    make_persona: Callable[..., Persona],
) -> None:
    for text in ("I love you", "大好き"):
        language = "ja" if is_japanese(text) else "en"
        warm = responder.reply(request(dominated_by(make_persona, "kindness"), text)).text
        shy = responder.reply(request(dominated_by(make_persona, "seriousness"), text)).text

        assert opening_pool(warm, language) == "affection_warm"
        assert opening_pool(shy, language) == "affection_shy"


def test_an_insult_hurts_a_kind_character_and_a_serious_one_stands_firm(
    make_persona: Callable[..., Persona],
) -> None:
    for text in ("you're stupid", "うざい"):
        language = "ja" if is_japanese(text) else "en"
        kind = responder.reply(request(dominated_by(make_persona, "empathy"), text)).text
        firm = responder.reply(request(dominated_by(make_persona, "seriousness"), text)).text

        assert opening_pool(kind, language) == "hurt"
        assert opening_pool(firm, language) == "firm"


def test_the_sentiment_given_in_the_request_is_the_one_answered(persona: Persona) -> None:
    # A neutral text with a loving sentiment: the responder answers the sentiment.
    loving = Sentiment(0.8, (("affection", 0.9),))
    grieving = Sentiment(-0.8, (("sadness", 0.9),))

    assert reply_kind(request(persona, "ok")) == "default"
    assert reply_kind(request(persona, "ok", sentiment=loving)) == "affection"
    assert reply_kind(request(persona, "ok", sentiment=grieving)) == "concern"
    assert reply_kind(request(persona, "I love you", sentiment=grieving)) == "concern"


@pytest.mark.parametrize(
    "text", ["I got the job!!!", "Hello!", "合格した！！", "こんにちは", "I had curry for dinner"]
)
def test_a_low_mood_answers_more_quietly(persona: Persona, text: str) -> None:
    bright = request(persona, text, mood=60, relationship_level=5)
    low = request(persona, text, mood=-60, relationship_level=5)

    bright_reply, low_reply = responder.reply(bright).text, responder.reply(low).text

    assert reply_kind(low) == reply_kind(bright)
    assert "!" not in low_reply
    assert "！" not in low_reply
    assert len(low_reply) < len(bright_reply)


def test_a_new_acquaintance_does_not_call_themselves_the_users_partner(
    persona: Persona,
) -> None:
    texts = [f"Day {n} was fine" for n in range(60)]

    first = " ".join(responder.reply(request(persona, t, relationship_level=1)).text for t in texts)
    later = " ".join(responder.reply(request(persona, t, relationship_level=5)).text for t in texts)

    assert "your boyfriend" not in first
    assert "your boyfriend" in later


def test_the_relationship_level_sets_the_register(persona: Persona) -> None:
    assert [register(level) for level in range(1, 11)] == (
        ["polite"] * 2 + ["friendly"] * 4 + ["close"] * 4
    )
    japanese = [text for text, _ in FEELINGS if is_japanese(text)]

    polite = [responder.reply(request(persona, t, relationship_level=1)).text for t in japanese]
    close = [responder.reply(request(persona, t, relationship_level=9)).text for t in japanese]

    assert all(re.search("です|ます|ください", reply) for reply in polite), polite
    assert not any(re.search("です|ます|ください", reply) for reply in close), close
    assert all(f"{NICKNAME}さん" in reply for reply in polite)


def opens_with(reply: str, templates: tuple[str, ...]) -> bool:
    patterns = (re.sub(r"\\\{\w+\\\}", ".+?", re.escape(t)) for t in templates)
    return any(re.match(pattern, reply) for pattern in patterns)


@pytest.mark.parametrize(
    "text", ["Hello!", "こんにちは", "I love you", "大好き", "my cat got sick"]
)
def test_a_close_character_speaks_familiarly_and_a_new_one_politely(
    persona: Persona, text: str
) -> None:
    language = "ja" if is_japanese(text) else "en"
    friendly = responder.reply(request(persona, text, relationship_level=5)).text
    pool = opening_pool(friendly, language)
    assert pool is not None

    first = responder.reply(request(persona, text, relationship_level=1)).text
    close = responder.reply(request(persona, text, relationship_level=10)).text

    assert opens_with(first, registers.POLITE_CUE_LINES[language][pool]), first
    assert opens_with(close, registers.CLOSE_CUE_LINES[language][pool]), close


@given(
    text=st.sampled_from([text for text, _ in FEELINGS]) | st.text(max_size=40),
    mood=st.none() | st.integers(-100, 100),
    level=st.integers(1, 10),
)
def test_the_same_request_always_gets_the_same_reply(
    persona: Persona, text: str, mood: int | None, level: int
) -> None:
    first = responder.reply(request(persona, text, mood=mood, relationship_level=level))
    again = OfflinePersonaResponder().reply(
        request(persona, text, mood=mood, relationship_level=level)
    )

    assert first == again


EN_FILLER = (
    "What's",
    "what's",
    "feeling",
    "really",
    "just",
    "honestly",
    "like",
    "I'm",
    "so",
    "today",
    "thinking",
    "about",
    "the",
    "kinda",
    "something",
    "actually",
    "Feeling",
    "REALLY",
    "tonight",
)
EN_NOUNS = ("aquarium", "garden", "guitar", "ramen", "museum", "cat", "piano", "bakery")
JA_NOUNS = ("猫", "犬", "水族館", "カラオケ", "映画", "公園", "料理", "ラーメン", "図書館")
JA_PARTICLES = ("が", "は", "を", "に", "の", "も", "へ", "と", "で")
JA_PREDICATES = (
    "好き",
    "大好きなんだ",
    "病気になった",
    "見たよ",
    "行った",
    "楽しかった",
    "気になる",
)
JA_FILLER = ("今日は", "なんか", "本当に", "ちょっと", "最近", "めっちゃ", "")


@given(st.lists(st.sampled_from(EN_FILLER) | st.sampled_from(EN_NOUNS), min_size=1, max_size=10))
def test_english_topics_are_never_filler(words: list[str]) -> None:
    topics = topic_words(" ".join(words) + "?")

    assert set(topics) <= set(EN_NOUNS)
    assert set(topics) == {word for word in words if word in EN_NOUNS}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(JA_FILLER),
            st.sampled_from(JA_NOUNS),
            st.sampled_from(JA_PARTICLES),
            st.sampled_from(JA_PREDICATES),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_japanese_topics_are_whole_nouns_never_half_words(
    clauses: list[tuple[str, str, str, str]],
) -> None:
    text = "、".join("".join(clause) for clause in clauses)

    topics = topic_words(text)

    assert set(topics) <= set(JA_NOUNS), text
    assert set(topics) == {noun for _, noun, _, _ in clauses}, text


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("猫が好き", ["猫"]),
        ("猫好きなんだ", []),
        ("週末に水族館へ行ったよ", ["週末", "水族館"]),
        ("What's up, I'm really feeling great about my garden", ["garden"]),
        ("honestly feeling kinda meh today", []),
    ],
)
def test_topic_words_examples(text: str, topics: list[str]) -> None:
    assert topic_words(text) == topics


@pytest.mark.parametrize(
    ("earlier", "now", "topic", "filler"),
    [
        ("What's up? I'm really feeling the aquarium vibes", "I'm home", "aquarium", "What's"),
        ("Honestly, feeling great about the garden lately", "hi", "garden", "feeling"),
        ("猫が好きなんだ", "ただいま", "猫", "猫好"),
    ],
)
def test_a_topic_picked_up_later_is_a_real_word(
    persona: Persona, earlier: str, now: str, topic: str, filler: str
) -> None:
    turns = (user_turn(earlier), character_turn("ok"))

    reply = responder.reply(request(persona, now, recent_turns=turns)).text

    assert topic in reply
    assert filler not in reply
