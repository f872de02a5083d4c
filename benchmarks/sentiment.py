"""python -m benchmarks.sentiment: the sentiment scorer's accuracy on its labelled sets.

The sets and how a message is scored right: tests.support.sentiment_sets. Prints
the accuracy per language and overall, a confusion table and the misses; runs in
well under a second.
"""

from __future__ import annotations

import sys
from collections import Counter

from rich.console import Console
from rich.table import Table

from companion.domain.sentiment import SentimentScorer
from tests.support.sentiment_sets import (
    HELD_OUT,
    LABELLED,
    LABELS,
    LANGUAGES,
    UNSEEN,
    Evaluation,
    evaluate,
    load,
)

SETS = {"labelled": LABELLED, "held out": HELD_OUT, "unseen": UNSEEN}


def summary(results: dict[str, Evaluation]) -> str:
    """One line for the benchmark's notes."""
    parts = []
    for name, result in results.items():
        by_language = ", ".join(f"{lang} {result.accuracy(lang):.1%}" for lang in LANGUAGES)
        parts.append(f"{name} {by_language}, both {result.accuracy():.1%} of {result.total()}")
    return "sentiment accuracy: " + "; ".join(parts)


def print_evaluation(
    console: Console, results: dict[str, Evaluation], *, misses: bool = False
) -> None:
    table = Table(title="Sentiment scorer on its labelled sets", title_justify="left")
    table.add_column("set")
    table.add_column("language")
    table.add_column("messages", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("right when polar", justify="right")
    for name, result in results.items():
        for language in (*LANGUAGES, None):
            table.add_row(
                name if language == LANGUAGES[0] else "",
                language or "both",
                str(result.total(language)),
                f"{result.accuracy(language):.1%}",
                f"{result.polar_precision(language):.1%}",
            )
        table.add_section()
    console.print(table)

    confusion = Table(
        title="Confusion, all sets (rows: label, columns: scored)", title_justify="left"
    )
    confusion.add_column("language / label")
    for label in LABELS:
        confusion.add_column(label, justify="right")
    counts: Counter[tuple[str, str, str]] = Counter()
    for result in results.values():
        counts.update(result.confusion)
    for language in LANGUAGES:
        for label in LABELS:
            row = [counts[(language, label, predicted)] for predicted in LABELS]
            confusion.add_row(f"{language} {label}", *(str(n) for n in row))
        if language != LANGUAGES[-1]:
            confusion.add_section()
    console.print(confusion)
    total = sum(result.total() for result in results.values())
    seconds = sum(result.seconds for result in results.values())
    console.print(f"scored {total} messages in {seconds * 1000:.0f} ms")
    if misses:
        for result in results.values():
            for example, predicted, score in result.misses:
                console.print(
                    f"  miss [{example.language}] {example.label} → {predicted} "
                    f"({score:+.2f}): {example.text}",
                    markup=False,
                    highlight=False,
                )


def evaluate_all(scorer: SentimentScorer | None = None) -> dict[str, Evaluation]:
    """Every labelled set, by name."""
    return {name: evaluate(scorer, load(path)) for name, path in SETS.items()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print_evaluation(Console(), evaluate_all(), misses="--misses" in args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
