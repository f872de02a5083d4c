from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.adapters.sentiment import LexiconSentimentScorer
from companion.domain.sentiment import EMOTIONS, SentimentScorer
from tests.support.sentiment_sets import HELD_OUT, LABELLED, UNSEEN, evaluate, load

scorer: SentimentScorer = LexiconSentimentScorer()

EN_POSITIVE = ("happy", "glad", "excited", "proud", "relaxed", "grateful", "good", "great")
EN_NEGATIVE = ("sad", "tired", "lonely", "worried", "angry", "upset", "scared", "stressed")
EN_SUBJECTS = ("I am", "I'm", "Today I feel", "honestly we are", "my sister is")
EN_BOOSTERS = ("very", "so", "really", "super", "extremely", "incredibly", "totally")
# Japanese adjectives as stem + い, so that the negative form is stem + くない.
JA_POSITIVE = ("嬉し", "楽し", "うれし", "たのし", "面白", "美味し", "優し")
JA_NEGATIVE = ("悲し", "寂し", "さみし", "怖", "つまらな", "かなし")
JA_BOOSTERS = ("とても", "すごく", "めっちゃ", "本当に", "超", "めちゃくちゃ")
JA_PREFIXES = ("", "今日は", "なんか", "昨日の映画、")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_it_scores_most_of_its_labelled_set_right(language: str) -> None:
    # Measured 98% on the labelled set, 92-98% on the held-out one; the floors leave room.
    labelled = evaluate(scorer, [e for e in load(LABELLED) if e.language == language])
    held_out = evaluate(scorer, [e for e in load(HELD_OUT) if e.language == language])

    assert labelled.total() >= 150
    assert labelled.accuracy() >= 0.90, labelled.misses
    assert held_out.accuracy() >= 0.85, held_out.misses


@pytest.mark.parametrize("language", ["en", "ja"])
def test_on_unseen_messages_a_polar_score_is_mostly_right(language: str) -> None:
    # The unseen set is never tuned against: most of it reads as neutral (42-53% accuracy),
    # but when the scorer does call a message positive or negative it was right 82-86% of the time.
    unseen = evaluate(scorer, [e for e in load(UNSEEN) if e.language == language])

    assert unseen.total() >= 40
    assert unseen.polar_precision() >= 0.7, unseen.misses


def test_the_labelled_sets_cover_every_label_in_both_languages() -> None:
    examples = load(LABELLED) + load(HELD_OUT)

    for language in ("en", "ja"):
        labels = [e.label for e in examples if e.language == language]
        assert min(labels.count(label) for label in ("positive", "negative", "neutral")) >= 30


@pytest.mark.parametrize(
    ("text", "emotion"),
    [
        ("I love you", "affection"),
        ("大好き", "affection"),
        ("愛してる💕", "affection"),
        ("my cat got sick", "worry"),
        ("猫が病気になった", "worry"),
        ("my grandma passed away", "sadness"),
        ("おばあちゃんが亡くなった", "sadness"),
        ("you're stupid", "anger"),
        ("うざい、黙れ", "anger"),
        ("thank you so much", "gratitude"),
        ("本当にありがとう", "gratitude"),
        ("I feel so lonely tonight", "loneliness"),
        ("寂しいよ", "loneliness"),
        ("I'm exhausted", "tiredness"),
        ("疲れた〜", "tiredness"),
        ("I got promoted, I'm so excited!", "excitement"),
        ("明日が楽しみ！", "excitement"),
        ("バカだなあw", "teasing"),
        ("you're such a dork lol", "teasing"),
    ],
)
def test_it_names_the_main_emotion_of_a_message(text: str, emotion: str) -> None:
    sentiment = scorer.score(text)

    assert sentiment.emotions, text
    assert sentiment.emotions[0][0] == emotion, sentiment


@pytest.mark.parametrize(
    ("text", "polarity"),
    [
        ("I'm happy", "positive"),
        ("I'm not happy", "negative"),
        ("I'm never happy anymore", "negative"),
        ("I don't love it", "negative"),
        ("I'm no longer excited", "negative"),
        ("not bad at all", "positive"),
        ("楽しい", "positive"),
        ("楽しくない", "negative"),
        ("好きじゃない", "negative"),
        ("嬉しくなかった", "negative"),
        ("楽しみじゃありません", "negative"),
        ("好きではありません", "negative"),
        ("悪くない", "positive"),
        ("嫌いじゃない", "positive"),
        ("心配しないで", "positive"),
    ],
)
def test_negation_turns_the_word_it_reaches(text: str, polarity: str) -> None:
    assert scorer.score(text).polarity == polarity


@pytest.mark.parametrize(
    ("text", "polarity"),
    [
        ("😊", "positive"),
        ("❤️", "positive"),
        ("😭", "negative"),
        ("💔", "negative"),
        ("😡", "negative"),
        ("(^^)", "positive"),
        ("(^_^)", "positive"),
        ("(T_T)", "negative"),
        ("(´;ω;`)", "negative"),
        ("(╯°□°)╯︵ ┻━┻", "negative"),
        ("orz", "negative"),
        ("OTL", "negative"),
        (":)", "positive"),
        ("<3", "positive"),
        ("今日楽しかった(笑)", "positive"),
        ("それな笑", "positive"),
        ("草", "positive"),
        ("wwww", "positive"),
    ],
)
def test_emoji_kaomoji_and_laughter_carry_feeling(text: str, polarity: str) -> None:
    assert scorer.score(text).polarity == polarity


def test_an_angry_face_names_anger() -> None:
    assert scorer.score("(╯°□°)╯︵ ┻━┻").emotions[0][0] == "anger"
    assert scorer.score("😡😡").emotions[0][0] == "anger"


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("It was fun but exhausting", "It was exhausting but fun"),
        ("楽しかったけど疲れた", "疲れたけど楽しかった"),
        ("美味しかったでも高かった、最悪", "最悪だったけど美味しかった"),
    ],
)
def test_after_but_the_later_clause_weighs_more(earlier: str, later: str) -> None:
    assert scorer.score(earlier).score < scorer.score(later).score


def test_a_diminisher_softens_and_a_booster_strengthens() -> None:
    plain, little, very = (
        scorer.score(t).score for t in ("I'm sad", "I'm a bit sad", "I'm very sad")
    )
    ja_plain, ja_little, ja_very = (
        scorer.score(t).score for t in ("疲れた", "ちょっと疲れた", "めっちゃ疲れた")
    )

    assert very < plain < little < 0
    assert ja_very < ja_plain < ja_little < 0


def test_exclamations_and_capitals_strengthen() -> None:
    assert scorer.score("I love you!!!").score > scorer.score("I love you").score
    assert scorer.score("I HATE this").score < scorer.score("I hate this").score


def test_elongated_spellings_and_typos_are_read() -> None:
    assert scorer.score("sooo happyyy").score > scorer.score("happy").score
    assert scorer.score("im so tired i cant even").polarity == "negative"


def test_a_plain_message_is_neutral_and_feels_nothing() -> None:
    for text in ("I had curry for dinner", "今日は雨だね", "", "   ", "12:30"):
        sentiment = scorer.score(text)
        assert sentiment.polarity == "neutral"
        assert sentiment.emotions == ()


@given(st.text(max_size=200))
def test_a_score_is_always_in_range_with_known_emotions(text: str) -> None:
    sentiment = scorer.score(text)

    assert -1.0 <= sentiment.score <= 1.0
    assert all(name in EMOTIONS and 0.0 < weight <= 1.0 for name, weight in sentiment.emotions)


@given(
    st.text(
        alphabet=st.sampled_from("好き嫌い楽しくないじゃ!?😊😭(^^)T_ w笑but not very sad happy"),
        max_size=60,
    )
)
def test_the_same_text_always_gets_the_same_sentiment(text: str) -> None:
    assert LexiconSentimentScorer().score(text) == scorer.score(text)


@given(
    st.sampled_from(EN_SUBJECTS),
    st.sampled_from(EN_POSITIVE),
    st.sampled_from(("not", "never", "no longer", "not really")),
    st.sampled_from(("", "!", ".", " today", " :)")),
)
def test_negating_a_positive_english_sentence_never_makes_it_more_positive(
    subject: str, word: str, negator: str, tail: str
) -> None:
    plain = scorer.score(f"{subject} {word}{tail}")
    negated = scorer.score(f"{subject} {negator} {word}{tail}")

    assert plain.polarity == "positive"
    assert negated.score < plain.score


@given(
    st.sampled_from(JA_PREFIXES),
    st.sampled_from(JA_POSITIVE),
    st.sampled_from(("くない", "くなかった", "くないです", "くありません")),
)
def test_negating_a_positive_japanese_sentence_never_makes_it_more_positive(
    prefix: str, stem: str, negation: str
) -> None:
    plain = scorer.score(f"{prefix}{stem}い")
    negated = scorer.score(f"{prefix}{stem}{negation}")

    assert plain.polarity == "positive"
    assert negated.score < plain.score


@given(
    st.sampled_from(EN_SUBJECTS),
    st.sampled_from(EN_POSITIVE + EN_NEGATIVE),
    st.sampled_from(EN_BOOSTERS),
    st.sampled_from(("", "!", " today", "...", " tonight!!")),
)
def test_a_booster_never_weakens_an_english_sentence(
    subject: str, word: str, booster: str, tail: str
) -> None:
    plain = scorer.score(f"{subject} {word}{tail}")
    boosted = scorer.score(f"{subject} {booster} {word}{tail}")

    assert plain.polarity != "neutral"
    assert abs(boosted.score) >= abs(plain.score)
    assert boosted.polarity == plain.polarity


@given(
    st.sampled_from(JA_PREFIXES),
    st.sampled_from(JA_POSITIVE + JA_NEGATIVE),
    st.sampled_from(JA_BOOSTERS),
    st.sampled_from(("い", "かった", "いよ", "い！")),
)
def test_a_booster_never_weakens_a_japanese_sentence(
    prefix: str, stem: str, booster: str, ending: str
) -> None:
    plain = scorer.score(f"{prefix}{stem}{ending}")
    boosted = scorer.score(f"{prefix}{booster}{stem}{ending}")

    assert plain.polarity != "neutral"
    assert abs(boosted.score) >= abs(plain.score)
    assert boosted.polarity == plain.polarity


def test_an_insult_with_a_laugh_is_milder_teasing() -> None:
    insult, teasing = scorer.score("バカだな"), scorer.score("バカだなw")
    en_insult, en_teasing = scorer.score("you idiot"), scorer.score("you idiot haha")

    assert insult.polarity == en_insult.polarity == "negative"
    assert insult.emotions[0][0] == en_insult.emotions[0][0] == "anger"
    assert teasing.polarity != "negative"
    assert en_teasing.polarity != "negative"
    assert teasing.emotions[0][0] == en_teasing.emotions[0][0] == "teasing"


@pytest.mark.parametrize(
    ("text", "polarity", "absent"),
    [
        ("お疲れさまでした", "neutral", "tiredness"),
        ("すき焼き食べた", "neutral", "affection"),
        ("どうでもいい", "negative", "joy"),
        ("大嫌い", "negative", "affection"),
    ],
)
def test_a_longer_word_wins_over_a_word_inside_it(text: str, polarity: str, absent: str) -> None:
    sentiment = scorer.score(text)

    assert sentiment.polarity == polarity
    assert sentiment.weight(absent) == 0.0
