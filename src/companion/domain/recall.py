"""What the character recalls for one message: retrieval's best, and a plan that is due.

Retrieval (`retrieval.retrieve`) ranks the live memories by relevance ×
importance × recency for the message's terms. A plan the user mentioned for
yesterday or today is worth bringing up whatever the message says ("good
morning" has no terms to match it), so one such plan joins the memories when
retrieval did not already bring it, at its importance × recency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from uuid import UUID

from companion.domain.chat import RecalledMemory
from companion.domain.memory_policy import recency
from companion.domain.memory_values import Memory
from companion.domain.retrieval import DEFAULT_K, LexicalIndex, ScoredMemory, retrieve

PLAN = "plan"
"""The subject (first key part) of a plan's memory: ("plan", "YYYY-MM-DD", what)."""


def recalled(memory: Memory, score: float) -> RecalledMemory:
    return RecalledMemory(
        memory_id=memory.memory_id,
        text=memory.text,
        kind=memory.kind,
        score=score,
        tags=memory.tags,
        subject=memory.subject,
        value=memory.value,
    )


def due_plan(memories: Sequence[Memory], today: date, now: datetime) -> Memory | None:
    """The most valuable live plan for yesterday or today, if any."""
    days = {today.isoformat(), (today - timedelta(days=1)).isoformat()}
    plans = [
        m
        for m in memories
        if m.is_live(now) and m.subject == PLAN and len(m.key) > 1 and m.key[1] in days
    ]
    plans.sort(key=lambda m: (-m.value_at(now), str(m.memory_id)))
    return plans[0] if plans else None


def recall(
    memories: Sequence[Memory] | Mapping[UUID, Memory],
    query_terms: Sequence[str],
    now: datetime,
    *,
    today: date,
    k: int = DEFAULT_K,
    embedding_scores: Mapping[UUID, float] | None = None,
    index: LexicalIndex | None = None,
) -> tuple[RecalledMemory, ...]:
    """The memories for a message, best first: retrieval's top k, then a due plan.

    A message with no terms retrieves nothing (only a due plan can come):
    a bare "hi" should not dump every memory into the prompt. `embedding_scores`
    (memory id → the cosine similarity of its vector with the message's) mix
    with the lexical score in retrieval. With the live memories by id and their
    kept `index` (as a caller holds them between messages), ranking looks only at
    the memories the message relates to.
    """
    scored: list[ScoredMemory] = (
        retrieve(memories, query_terms, now, k=k, embedding_scores=embedding_scores, index=index)
        if query_terms
        else []
    )
    found = [recalled(s.memory, s.score) for s in scored]
    live = list(memories.values()) if isinstance(memories, Mapping) else memories
    plan = due_plan(live, today, now)
    if plan is not None and k > 0 and all(m.memory_id != plan.memory_id for m in found):
        score = plan.importance * recency(plan.last_reinforced_at, now)
        found = [*found[: k - 1], recalled(plan, score)]
    return tuple(found)
