"""Recall of planted facts: a conversation replayed into a MemoryBook, its questions asked.

Every user message goes through the rules into the book, in order; at each
question the book's live memories are retrieved for it (k = `K`), and it is a
hit when the planted message is among the retrieved memories' sources. A
question that shares no word with its fact is counted apart (a paraphrase).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid5

from companion.domain.lemmas import Lemmatizer
from companion.domain.memory import MemoryBook
from companion.domain.memory_extraction import extract_memories
from companion.domain.memory_values import Memory
from companion.domain.prompt import estimate_tokens
from companion.domain.retrieval import retrieve
from tests.support.recall_conversations import NAMESPACE, Conversation

K = 5


@dataclass
class Recall:
    """Hits and questions per language, the prompt tokens of each retrieval, the misses."""

    hits: dict[str, int] = field(default_factory=dict)
    questions: dict[str, int] = field(default_factory=dict)
    prompt_tokens: list[int] = field(default_factory=list)
    memories: list[tuple[str, int]] = field(default_factory=list)
    """(language, live memories in the book) at each question."""
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    """(language, planted statement, question)."""
    paraphrase_hits: dict[str, int] = field(default_factory=dict)
    paraphrases: dict[str, int] = field(default_factory=dict)

    def paraphrase_rate(self, language: str) -> float:
        asked = self.paraphrases.get(language, 0)
        return self.paraphrase_hits.get(language, 0) / asked if asked else 0.0

    def rate(self, language: str) -> float:
        asked = self.questions.get(language, 0)
        return self.hits.get(language, 0) / asked if asked else 0.0


def memory_line(memory: Memory) -> str:
    return f"- {memory.text}"


def replay_conversation(
    talk: Conversation, lemmatizer: Lemmatizer, recall: Recall, book: MemoryBook | None = None
) -> MemoryBook:
    """Every message into the book, in order; each question answered from what came before."""
    book = book or MemoryBook(user_id=uuid5(NAMESPACE, f"user:{talk.seed}"), character_id=NAMESPACE)
    by_number = {t.number: t for t in talk.turns}
    for turn in talk.turns:
        if turn.question_of is not None:
            planted = by_number[turn.question_of]
            memories = book.memories(turn.at)
            found = retrieve(memories, lemmatizer.lemmas(turn.text), turn.at, k=K)
            hit = any(planted.message_id in s.memory.source_message_ids for s in found)
            language = talk.language
            if turn.paraphrase:
                recall.paraphrases[language] = recall.paraphrases.get(language, 0) + 1
                recall.paraphrase_hits[language] = recall.paraphrase_hits.get(language, 0) + hit
                continue
            recall.questions[talk.language] = recall.questions.get(talk.language, 0) + 1
            recall.hits[talk.language] = recall.hits.get(talk.language, 0) + int(hit)
            recall.prompt_tokens.append(sum(estimate_tokens(memory_line(s.memory)) for s in found))
            recall.memories.append((talk.language, len(memories)))
            if not hit:
                recall.misses.append((talk.language, planted.text, turn.text))
        for candidate in extract_memories(turn.text, message_id=turn.message_id, now=turn.at):
            book.record(candidate, turn.at, lemmatizer=lemmatizer)
    return book
