"""Which memories a reply should see: relevance × importance × recency, top k.

Relevance is lexical by default: BM25 over the memories' lemmas, normalised
so the best match of a query is 1. When embedding similarities are given
(memory id → cosine similarity with the query), relevance is a weighted mix of
the lexical and the vector score. With no query terms at all (a greeting),
every live memory is equally relevant and importance × recency decides.

The policy is pure: the index statistics come from the memories given, or
from a `LexicalIndex` a projection keeps up to date and passes in. Ties are
broken by memory id, so the same inputs give the same list in the same order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from companion.domain.memory_policy import recency
from companion.domain.memory_values import Memory

BM25_K1 = 1.2
BM25_B = 0.75
LEXICAL_WEIGHT = 0.5
"""The lexical share of relevance when vector similarities are given too."""
DEFAULT_K = 5


class TextEmbedder(Protocol):
    """Optional: vectors for texts (a memory's text, a question), from an embeddings model.

    One vector per text, in order; None when the provider could not answer
    (retrieval then stays lexical). The model's name says which vectors compare.
    """

    name: str

    def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]] | None: ...


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine similarity of two vectors (0 for a zero vector or different lengths)."""
    if len(a) != len(b) or not a:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm > 0 else 0.0


def similarities(
    query: Sequence[float], vectors: Mapping[UUID, Sequence[float]]
) -> dict[UUID, float]:
    """Each memory's similarity to the query, as `retrieve`'s embedding_scores."""
    return {memory_id: cosine(query, vector) for memory_id, vector in vectors.items()}


@dataclass(frozen=True)
class ScoredMemory:
    """A retrieved memory, its score and the parts the score is made of."""

    memory: Memory
    score: float
    relevance: float
    importance: float
    recency: float
    lexical: float
    """The raw BM25 score (0 when no query term matched)."""
    semantic: float | None = None
    """The vector similarity, when embeddings were given."""


@dataclass
class LexicalIndex:
    """BM25 statistics of a set of memories: postings, lengths and document frequencies.

    Build it with `of(memories)`, or keep one and `add` / `remove` as memories
    come and go; equal contents give equal scores however it was built.
    """

    postings: dict[str, dict[UUID, int]] = field(default_factory=dict)
    lengths: dict[UUID, int] = field(default_factory=dict)
    terms: dict[UUID, tuple[str, ...]] = field(default_factory=dict)
    total_length: int = 0

    @classmethod
    def of(cls, memories: Iterable[Memory]) -> LexicalIndex:
        index = cls()
        for memory in memories:
            index.add(memory.memory_id, memory.lemmas)
        return index

    @property
    def documents(self) -> int:
        return len(self.lengths)

    def add(self, memory_id: UUID, lemmas: Sequence[str]) -> None:
        if memory_id in self.lengths:
            self.remove(memory_id)
        counts: dict[str, int] = {}
        for term in lemmas:
            counts[term] = counts.get(term, 0) + 1
        for term, count in counts.items():
            docs = self.postings.get(term)
            if docs is None:
                docs = self.postings[term] = {}
            docs[memory_id] = count
        self.lengths[memory_id] = len(lemmas)
        self.terms[memory_id] = tuple(counts)
        self.total_length += len(lemmas)

    def remove(self, memory_id: UUID) -> None:
        length = self.lengths.pop(memory_id, None)
        if length is None:
            return
        self.total_length -= length
        for term in self.terms.pop(memory_id, ()):
            docs = self.postings[term]
            del docs[memory_id]
            if not docs:
                del self.postings[term]

    def idf(self, term: str) -> float:
        frequency = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.documents - frequency + 0.5) / (frequency + 0.5))

    def scores(self, query_terms: Iterable[str]) -> dict[UUID, float]:
        """The BM25 score of every memory that shares a term with the query."""
        if not self.documents:
            return {}
        average = self.total_length / self.documents or 1.0
        scores: dict[UUID, float] = {}
        for term in dict.fromkeys(query_terms):
            docs = self.postings.get(term)
            if not docs:
                continue
            idf = self.idf(term)
            for memory_id, tf in docs.items():
                norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self.lengths[memory_id] / average)
                gain = idf * tf * (BM25_K1 + 1.0) / (tf + norm)
                scores[memory_id] = scores.get(memory_id, 0.0) + gain
        return scores


def retrieve(
    memories: Iterable[Memory] | Mapping[UUID, Memory],
    query_terms: Sequence[str],
    now: datetime,
    *,
    k: int = DEFAULT_K,
    embedding_scores: Mapping[UUID, float] | None = None,
    index: LexicalIndex | None = None,
    lexical_weight: float = LEXICAL_WEIGHT,
) -> list[ScoredMemory]:
    """The k best live memories for a query, best first, ties broken by memory id.

    A memory counts only if something relates it to the query (a shared lemma
    or, with embeddings, a positive similarity), unless the query has no terms.
    Memories past their horizon at `now` are never returned; what is not in
    `memories` (forgotten, superseded) cannot be.

    `memories` may be a mapping by id (as a projection keeps them): with a
    kept `index`, only the memories the query relates to are then looked at,
    so the cost follows the matches rather than the size of the book.
    """
    if k <= 0:
        return []
    by_id: Mapping[UUID, Memory] = (
        memories if isinstance(memories, Mapping) else {m.memory_id: m for m in memories}
    )

    def is_live(memory_id: UUID) -> bool:
        memory = by_id.get(memory_id)
        return memory is not None and memory.is_live(now)

    if index is None:
        index = LexicalIndex.of(m for m in by_id.values() if m.is_live(now))
    lexical = {mid: s for mid, s in index.scores(query_terms).items() if is_live(mid)}
    best = max(lexical.values(), default=0.0)
    semantic = (
        {mid: max(0.0, min(1.0, float(s))) for mid, s in embedding_scores.items() if is_live(mid)}
        if embedding_scores is not None
        else None
    )
    weight = max(0.0, min(1.0, lexical_weight))
    open_query = not query_terms and not semantic
    # Only a memory the query relates to can score; with an open query, every one.
    related = (
        [mid for mid, m in by_id.items() if m.is_live(now)]
        if open_query
        else lexical.keys() | {mid for mid, s in (semantic or {}).items() if s > 0}
    )
    # Scores first, objects for the k best only: a common word can relate thousands.
    ranked: list[tuple[float, int, UUID, float, float, float, float | None]] = []
    for memory_id in related:
        memory = by_id[memory_id]
        raw = lexical.get(memory_id, 0.0)
        lexical_relevance = raw / best if best > 0 else 0.0
        similarity = None if semantic is None else semantic.get(memory_id, 0.0)
        if open_query:
            relevance = 1.0
        elif similarity is None:
            relevance = lexical_relevance
        else:
            relevance = weight * lexical_relevance + (1.0 - weight) * similarity
        if relevance <= 0.0:
            continue
        fresh = recency(memory.last_reinforced_at, now)
        score = relevance * memory.importance * fresh
        # The id's number orders as its text does: ties go by memory id.
        ranked.append((-score, memory_id.int, memory_id, relevance, fresh, raw, similarity))
    return [
        ScoredMemory(
            memory=by_id[memory_id],
            score=-negative,
            relevance=relevance,
            importance=by_id[memory_id].importance,
            recency=fresh,
            lexical=raw,
            semantic=similarity,
        )
        for negative, _, memory_id, relevance, fresh, raw, similarity in heapq.nsmallest(
            k, ranked, key=lambda r: (r[0], r[1])
        )
    ]
