"""python -m benchmarks.memory [--small]: recall of planted facts, prompt size, retrieval time.

- **Recall@5**: seeded synthetic conversations (tests.support.recall_conversations),
  several hundred turns each in English and Japanese. Every user message goes
  through the rules into a MemoryBook (SudachiPy lemmas); at each question,
  asked 200+ turns after its fact, the book's live memories are retrieved for
  the question (k = 5) and it is a hit when the planted message is among the
  retrieved memories' sources. The goal is ≥ 0.9 in each language.
- **Prompt size**: the estimated tokens of the retrieved memories' lines, as
  the prompt builder counts them.
- **Retrieval time** at 10,000 live memories of one user × character: p50
  and p99 of `retrieve` over the questions, with the index statistics built
  from the memories each time (the pure policy on its own) and with the live
  memories by id and a kept `LexicalIndex` (as a projection would hold them).

Pure domain and the lemmatizer adapter: no database. Well under a minute;
`--small` is a few seconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid5

from rich.console import Console
from rich.table import Table

from companion.adapters.morphology import MorphologicalLemmatizer
from companion.domain.lemmas import Lemmatizer
from companion.domain.memory import MemoryBook
from companion.domain.memory_values import MemoryCandidate
from companion.domain.retrieval import LexicalIndex, retrieve
from tests.support.recall_conversations import (
    EN_NAMES,
    EN_PEOPLE,
    EN_PETS,
    EN_THINGS,
    JA_NAMES,
    JA_THINGS,
    NAMESPACE,
    START,
    Conversation,
    conversations,
)
from tests.support.recall_harness import K, Recall, replay_conversation

GOAL = 0.9
CONVERSATIONS, SMALL_CONVERSATIONS = 8, 2
TURNS, SMALL_TURNS = 400, 260
LARGE_BOOK, SMALL_LARGE_BOOK = 10_000, 2_000
TIMED_QUERIES = 200


@dataclass
class Timing:
    memories: int
    fresh_ms: list[float]
    indexed_ms: list[float]
    recall: float


@dataclass
class Evaluation:
    recall: Recall
    timing: Timing
    seconds: float


def filler_candidates(count: int, rng: random.Random) -> list[MemoryCandidate]:
    """Many distinct memories for one book, in both languages, sharing vocabulary with the
    questions (names, pets, people, likes) so that retrieval has real competition."""
    made: list[MemoryCandidate] = []
    for n in range(count):
        source = uuid5(NAMESPACE, f"filler:{n}")
        thing = rng.choice(EN_THINGS + JA_THINGS)
        name = rng.choice(EN_NAMES + JA_NAMES)
        shape = n % 4
        if shape == 0:
            key, text = ("taste", f"{thing} {n}"), f"The user likes {thing} (#{n})"
        elif shape == 1:
            person = rng.choice(EN_PEOPLE)
            key, text = ("met", str(n)), f"The user's {person} met {name} at the {thing} club"
        elif shape == 2:
            pet = rng.choice(EN_PETS)
            key, text = ("saw", str(n)), f"The user saw a {pet} near {thing} with {name}"
        else:
            key, text = ("event", str(n)), f"ユーザーは{name}と{thing}の話をした（{n}）"
        made.append(
            MemoryCandidate(
                kind=rng.choice(["preference", "relationship"]),
                key=key,
                value=str(n),
                text=text,
                importance=rng.uniform(0.3, 0.8),
                source_message_id=source,
                extractor="benchmark",
            )
        )
    return made


def time_large_book(
    talks: Sequence[Conversation], size: int, lemmatizer: Lemmatizer, rng: random.Random
) -> Timing:
    """Retrieval at `size` memories: one conversation per language on top of filler."""
    book = MemoryBook(user_id=uuid5(NAMESPACE, "user:large"), character_id=NAMESPACE)
    for candidate in filler_candidates(size, rng):
        book.record(candidate, START - timedelta(days=rng.randint(0, 300)), lemmatizer=lemmatizer)
    recall = Recall()
    first = {t.language: t for t in reversed(talks)}
    for talk in first.values():
        replay_conversation(talk, lemmatizer, recall, book)
    now = max(t.turns[-1].at for t in first.values())
    memories = book.memories(now)
    questions = [lemmatizer.lemmas(t.text) for talk in talks for t in talk.questions]
    queries = [questions[i % len(questions)] for i in range(TIMED_QUERIES)]
    # What a projection would keep: the live memories by id and their index.
    index = LexicalIndex.of(memories)
    kept = {m.memory_id: m for m in memories}
    fresh, indexed = [], []
    for terms in queries:
        started = time.perf_counter()
        retrieve(memories, terms, now, k=K)
        fresh.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        retrieve(kept, terms, now, k=K, index=index)
        indexed.append((time.perf_counter() - started) * 1000)
    hits = sum(recall.hits.values())
    return Timing(len(memories), fresh, indexed, hits / max(1, sum(recall.questions.values())))


def evaluate(*, small: bool = False, seed: int = 16) -> Evaluation:
    started = time.perf_counter()
    lemmatizer = MorphologicalLemmatizer()
    talks = conversations(
        SMALL_CONVERSATIONS if small else CONVERSATIONS,
        turns=SMALL_TURNS if small else TURNS,
        min_gap=200,
        seed=seed,
    )
    recall = Recall()
    for talk in talks:
        replay_conversation(talk, lemmatizer, recall)
    timing = time_large_book(
        talks, SMALL_LARGE_BOOK if small else LARGE_BOOK, lemmatizer, random.Random(seed)
    )
    return Evaluation(recall, timing, time.perf_counter() - started)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(evaluation: Evaluation) -> str:
    recall, timing = evaluation.recall, evaluation.timing
    return (
        f"memory: recall@{K} en {recall.rate('en'):.2f}, ja {recall.rate('ja'):.2f} "
        f"(goal {GOAL}; questions sharing no word with the fact: en "
        f"{recall.paraphrase_rate('en'):.2f}, ja {recall.paraphrase_rate('ja'):.2f}); "
        f"memories in the prompt {statistics.mean(recall.prompt_tokens):.0f} "
        f"tokens on average, {max(recall.prompt_tokens)} at most; retrieval at "
        f"{timing.memories:,} memories p50 {percentile(timing.indexed_ms, 0.5):.1f} ms, "
        f"p99 {percentile(timing.indexed_ms, 0.99):.1f} ms with a kept index "
        f"({percentile(timing.fresh_ms, 0.5):.1f} / {percentile(timing.fresh_ms, 0.99):.1f} ms "
        "building it each time)"
    )


def print_evaluation(out: Console, evaluation: Evaluation, *, misses: int = 10) -> None:
    recall, timing = evaluation.recall, evaluation.timing
    table = Table(title=f"Memory recall@{K} (goal ≥ {GOAL} per language)")
    columns = (
        "language",
        "questions",
        "hits",
        f"recall@{K}",
        "paraphrased",
        "memories in the book",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for language in ("en", "ja"):
        sizes = [size for lang, size in recall.memories if lang == language]
        table.add_row(
            language,
            str(recall.questions.get(language, 0)),
            str(recall.hits.get(language, 0)),
            f"{recall.rate(language):.2f}",
            f"{recall.paraphrase_rate(language):.2f} of {recall.paraphrases.get(language, 0)}",
            f"{statistics.mean(sizes):.0f} on average" if sizes else "-",
        )
    out.print(table)
    out.print(
        f"Retrieved memories in the prompt: {statistics.mean(recall.prompt_tokens):.0f} tokens on"
        f" average, p95 {percentile(recall.prompt_tokens, 0.95)}, max {max(recall.prompt_tokens)}"
    )
    out.print(
        f"Retrieval at {timing.memories:,} memories ({len(timing.indexed_ms)} queries): kept index"
        f" p50 {percentile(timing.indexed_ms, 0.5):.2f} ms, p99"
        f" {percentile(timing.indexed_ms, 0.99):.2f} ms; index built per call p50"
        f" {percentile(timing.fresh_ms, 0.5):.2f} ms, p99 {percentile(timing.fresh_ms, 0.99):.2f}"
        f" ms; recall@{K} among them {timing.recall:.2f}"
    )
    for language, statement, question in recall.misses[:misses]:
        out.print(f"  missed ({language}): {statement!r} ← {question!r}", markup=False)
    out.print(f"({evaluation.seconds:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument(
        "--small", action="store_true", help="a few conversations and 2,000 memories (seconds)"
    )
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    evaluation = evaluate(small=args.small, seed=args.seed)
    print_evaluation(Console(), evaluation)
    goal_met = all(evaluation.recall.rate(lang) >= GOAL for lang in ("en", "ja"))
    return 0 if goal_met else 1


if __name__ == "__main__":
    sys.exit(main())
