"""Recall of planted facts in long synthetic conversations, on a small seeded set."""

from __future__ import annotations

from companion.adapters.morphology import MorphologicalLemmatizer
from tests.support.recall_conversations import conversation, conversations
from tests.support.recall_harness import Recall, replay_conversation


def test_planted_facts_are_recalled_long_after_in_both_languages() -> None:
    recall = Recall()
    lemmatizer = MorphologicalLemmatizer()
    for talk in conversations(2, turns=240, min_gap=200, seed=3):
        replay_conversation(talk, lemmatizer, recall)

    assert recall.questions["en"] >= 10
    assert recall.questions["ja"] >= 10
    assert recall.rate("en") >= 0.9, recall.misses
    assert recall.rate("ja") >= 0.9, recall.misses


def test_the_conversations_are_the_same_for_the_same_seed() -> None:
    first, again, other = (conversation("ja", seed, turns=230) for seed in (5, 5, 6))

    assert first == again
    assert first != other
    for question in first.questions:
        assert question.question_of is not None
        assert question.number - question.question_of >= 200
