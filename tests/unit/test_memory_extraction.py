"""The rules that find memories in English and Japanese messages."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.memory import MemoryBook
from companion.domain.memory_extraction import RULES, extract_memories

NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)  # a Thursday
MESSAGE = UUID(int=42)


def facts(text: str) -> list[tuple[str, tuple[str, ...], str]]:
    return [
        (c.extractor, c.key, c.value) for c in extract_memories(text, message_id=MESSAGE, now=NOW)
    ]


EXAMPLES = [
    # English
    ("I really love spicy ramen.", "en_likes", "taste/spicy ramen", "likes"),
    ("I don't like horror movies at all.", "en_likes", "taste/horror movie", "dislikes"),
    ("I hate mornings", "en_likes", "taste/morning", "dislikes"),
    ("My favourite band is Radwimps", "en_likes", "favourite/band", "radwimps"),
    ("My cat is called Mochi.", "en_pet_name", "pet/cat/name", "Mochi"),
    ("I have a dog named Biscuit!", "en_pet_name", "pet/dog/name", "Biscuit"),
    ("My kitten's name is Luna", "en_pet_name", "pet/cat/name", "Luna"),
    ("My best friend is called Kenji.", "en_person_name", "person/best friend/name", "Kenji"),
    ("My mum's name is Yoko", "en_person_name", "person/mom/name", "Yoko"),
    ("My birthday is March 3rd", "en_birthday", "birthday", "03-03"),
    ("my birthday is on the 4th of July", "en_birthday", "birthday", "07-04"),
    ("Actually my birthday is the 4th.", "en_birthday", "birthday", "--04"),
    ("Tomorrow I'm going to the dentist.", "en_plan", "plan/2026-11-27/dentist", "dentist"),
    ("I'll visit my aunt this weekend", "en_plan", "plan/2026-11-28/visit my aunt", "visit my aunt"),  # noqa: E501
    ("I'm seeing a movie on Monday", "en_plan", "plan/2026-11-30/seeing a movie", "seeing a movie"),
    ("I got a new job at a bakery!", "en_life_event", "life/new job/2026-11-26", "new job"),
    ("We broke up last night...", "en_life_event", "life/breakup/2026-11-26", "breakup"),
    ("I work as a nurse at the city hospital.", "en_job", "job", "nurse"),
    ("I'm a software engineer", "en_job", "job", "software engineer"),
    ("I live in Osaka.", "en_place", "home", "osaka"),
    ("I'm from Sapporo originally.", "en_place", "hometown", "sapporo"),
    ("Call me Aki", "en_own_name", "user/name", "Aki"),
    ("I'm into photography these days", "en_likes", "taste/photography", "likes"),
    ("I'm not a fan of horror", "en_likes", "taste/horror", "dislikes"),
    ("I love cats", "en_likes", "taste/cat", "likes"),
    ("My dog Rex is so cute", "en_pet_name", "pet/dog/name", "Rex"),
    ("I have two dogs", "en_pet_name", "pet/dog", "has"),
    ("My sister Emi is visiting", "en_person_name", "person/sister/name", "Emi"),
    ("My birthday's on December 5", "en_birthday", "birthday", "12-05"),
    ("Tomorrow is my birthday!", "en_birthday", "birthday", "11-27"),
    ("I'm a nurse, so I work nights", "en_job", "job", "nurse"),
    ("I passed my driving test!", "en_life_event", "life/pass/2026-11-26", "pass"),
    ("I'm moving to Kyoto next month", "en_place", "home", "kyoto"),
    ("My friend died last year", "en_life_event", "life/loss/2026-11-26", "loss"),
    ("母が入院した", "ja_life_event", "life/illness/2026-11-26", "illness"),
    # Japanese
    ("猫が好きです", "ja_likes", "taste/猫", "likes"),
    ("私はコーヒーが大好き！", "ja_likes", "taste/コーヒー", "likes"),
    ("ホラー映画は苦手なんだ", "ja_likes", "taste/ホラー映画", "dislikes"),
    ("納豆は好きじゃない", "ja_likes", "taste/納豆", "dislikes"),
    ("うちの猫の名前はモチです", "ja_pet_name", "pet/cat/name", "モチ"),
    ("犬を飼ってて、名前はポチっていうの", "ja_pet_name", "pet/dog/name", "ポチ"),
    ("タマという猫を飼っています", "ja_pet_name", "pet/cat/name", "タマ"),
    ("姉の名前はハナコ", "ja_person_name", "person/sister/name", "ハナコ"),
    ("誕生日は3月3日だよ", "ja_birthday", "birthday", "03-03"),
    ("実は誕生日は4日なんだ", "ja_birthday", "birthday", "--04"),
    ("明日は歯医者に行く", "ja_plan", "plan/2026-11-27/歯医者", "歯医者"),
    ("来週、友達と京都に行く予定", "ja_plan", "plan/2026-11-30/友達と京都", "友達と京都"),
    ("転職することになった", "ja_life_event", "life/new job/2026-11-26", "new job"),
    ("彼氏と別れた…", "ja_life_event", "life/breakup/2026-11-26", "breakup"),
    ("看護師として働いています", "ja_job", "job", "看護師"),
    ("大阪に住んでいます", "ja_place", "home", "大阪"),
    ("北海道出身です", "ja_place", "hometown", "北海道"),
    ("私の名前はアキです", "ja_own_name", "user/name", "アキ"),
    ("好きな食べ物はラーメンです", "ja_likes", "favourite/食べ物", "ラーメン"),
    ("ラーメンが一番好き", "ja_likes", "taste/ラーメン", "likes"),
    ("コーヒーはあんまり好きじゃない", "ja_likes", "taste/コーヒー", "dislikes"),
    ("猫を飼ってるんだ", "ja_pet_name", "pet/cat", "has"),
    ("明後日から旅行に行く", "ja_plan", "plan/2026-11-28/旅行", "旅行"),
    ("明日は私の誕生日なんだ", "ja_birthday", "birthday", "11-27"),
    ("会社を辞めた", "ja_life_event", "life/lost job/2026-11-26", "lost job"),
    ("エンジニアをしています", "ja_job", "job", "エンジニア"),
    ("大学生です", "ja_job", "job", "大学生"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "rule", "key", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_a_rule_finds_the_fact(text: str, rule: str, key: str, value: str) -> None:
    assert (f"rule:{rule}", tuple(key.split("/")), value) in facts(text)


NOTHING = [
    "Do you remember my cat's name?",
    "I love you",
    "My dog Is cute",
    "My friend got a new job!",
    "My sister broke up with her boyfriend",
    "友達が転職したんだって",
    "あなたのことが好き",
    "勉強をしています",
    "I'm a little tired today",
    "I like it when you talk to me",
    "Haha that's funny",
    "What do you like?",
    "私の猫のこと覚えてる？",
    "今日はいい天気だね。",
    "好きだった人に会った",
]


@pytest.mark.parametrize("text", NOTHING)
def test_small_talk_and_questions_are_not_remembered(text: str) -> None:
    assert facts(text) == []


def test_every_rule_is_named_after_its_language() -> None:
    assert all(name.startswith(("en_", "ja_")) for name in RULES)
    assert {rule for _, rule, _, _ in EXAMPLES} == set(RULES)


def test_a_candidate_is_written_in_the_messages_language_with_bilingual_tags() -> None:
    [english] = extract_memories("My cat is called Mochi.", message_id=MESSAGE, now=NOW)
    [japanese] = extract_memories("うちの猫の名前はモチです", message_id=MESSAGE, now=NOW)

    assert english.text == "The user's cat is called Mochi"
    assert japanese.text == "ユーザーの猫の名前はモチ"
    assert {"cat", "猫", "name", "名前"} <= set(english.tags) & set(japanese.tags)
    assert english.source_message_id == japanese.source_message_id == MESSAGE
    assert english.emotion == "affection"


def test_a_message_with_several_facts_gives_each_once() -> None:
    found = facts("My cat is called Mochi. I live in Osaka! My cat is called Mochi.")

    assert [key for _, key, _ in found] == [("pet", "cat", "name"), ("home",)]


def test_a_correction_read_by_the_rules_supersedes_the_birthday() -> None:
    book = MemoryBook(user_id=UUID(int=1), character_id=UUID(int=2))
    for n, text in enumerate(["My birthday is March 3rd", "Actually my birthday is the 4th."]):
        for candidate in extract_memories(text, message_id=UUID(int=n), now=NOW):
            book.record(candidate, NOW)

    [birthday] = book.memories(NOW)
    assert birthday.text == "The user's birthday is the 4th"
    assert birthday.supersedes is not None


def test_full_width_letters_and_digits_read_as_plain_ones() -> None:
    assert ("rule:ja_birthday", ("birthday",), "03-03") in facts("誕生日は３月３日だよ")


@given(st.text(max_size=300))
def test_any_text_gives_valid_candidates_and_never_raises(text: str) -> None:
    for candidate in extract_memories(text, message_id=MESSAGE, now=NOW):
        assert 0.0 <= candidate.importance <= 1.0
        assert candidate.text.strip() == candidate.text
        assert candidate.key
        assert candidate.extractor.startswith("rule:")


@given(st.text(max_size=200))
def test_extraction_is_deterministic(text: str) -> None:
    assert extract_memories(text, message_id=MESSAGE, now=NOW) == extract_memories(
        text, message_id=MESSAGE, now=NOW
    )
