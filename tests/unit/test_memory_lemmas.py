"""Lemmas: SudachiPy for Japanese and light stemming for English meet where words mean the same."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.adapters.morphology import MorphologicalLemmatizer, english_stem
from companion.domain.lemmas import PlainLemmatizer

LEMMATIZER = MorphologicalLemmatizer()


@pytest.mark.parametrize(
    "spelling", ["猫が好き", "ねこが好き", "ネコが好きだった", "猫ちゃん大好き"]
)
def test_every_spelling_of_cat_and_of_liking_is_one_lemma(spelling: str) -> None:
    lemmas = LEMMATIZER.lemmas(spelling)

    assert "猫" in lemmas
    assert {"好き", "大好き"} & set(lemmas)


def test_japanese_words_stay_whole_and_particles_go() -> None:
    assert LEMMATIZER.lemmas("誕生日は来週なんだ") == ["誕生日", "来週"]
    assert LEMMATIZER.lemmas("明日は歯医者に行くんだ") == ["明日", "歯医者"]
    assert LEMMATIZER.lemmas("私の猫のこと覚えてる？") == ["猫", "覚える"]


def test_english_is_stemmed_and_stop_words_go() -> None:
    assert LEMMATIZER.lemmas("Do you remember my cat's name?") == ["remember", "cat", "name"]
    assert LEMMATIZER.lemmas("The user's cats are called Mochi") == ["user", "cat", "call", "mochi"]
    assert LEMMATIZER.lemmas("I don't like running") == ["like", "run"]


def test_a_mixed_message_gives_both_languages_lemmas() -> None:
    assert LEMMATIZER.lemmas("My cat モチ loves 京都") == ["cat", "もち", "love", "京都"]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("cats", "cat"),
        ("parties", "party"),
        ("running", "run"),
        ("called", "call"),
        ("stopped", "stop"),
        ("glass", "glass"),
        ("cat's", "cat"),
        ("don't", ""),
    ],
)
def test_english_stems(word: str, stem: str) -> None:
    assert english_stem(word) == stem


def test_threads_share_the_dictionary_and_agree() -> None:
    texts = ["うちの猫の名前はモチです", "来週、友達と京都に行く予定", "I love my dog"] * 20
    expected = [LEMMATIZER.lemmas(t) for t in texts]

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(LEMMATIZER.lemmas, texts)) == expected


@given(st.text(max_size=200))
def test_lemmas_of_any_text_are_lower_case_words_and_deterministic(text: str) -> None:
    lemmas = LEMMATIZER.lemmas(text)

    assert lemmas == LEMMATIZER.lemmas(text)
    assert all(lemma and lemma == lemma.casefold() and not lemma.isspace() for lemma in lemmas)


def test_a_japanese_run_longer_than_the_analyzer_takes_is_read_in_pieces() -> None:
    lemmas = LEMMATIZER.lemmas("猫" * 30_000)

    assert set(lemmas) == {"猫"}


def test_the_plain_fallback_cuts_japanese_into_bigrams() -> None:
    assert PlainLemmatizer().lemmas("The CATS 誕生日") == ["cats", "誕生", "生日"]
