"""Memory in the chat turn: recall for the prompt, remember what the user said, forget on request.

The write path works on the MemoryBook aggregate (the read side, the
`memories` projection, answers the routes), each step a method of `Memories`
over the unit of work:

- `recall_and_remember`, in the turn before the model is asked: the book's
  live memories are ranked for the user's message (`domain.recall`) and the
  rules' memories of the message are recorded, in one save of the book, after
  the user's message and before the reply. The recall is of what the book held
  before this message: a fact said now is not "remembered" back at once.
- `remember_later`, after the reply is stored: the model extractor (when one is
  configured) reads the message in a worker thread. The reply never waits for
  it; a slow, failing or nonsense-answering extractor costs at most its own
  timeout on that thread and a line in the log. With an embeddings model, the
  same worker then gives the book's memories that have none a vector
  (MemoryEmbedded).
- Recall, with an embeddings model and a book that has vectors, embeds the
  message too (bounded by its own short timeout) and mixes each memory's cosine
  similarity with the lexical score; a failed or slow call leaves that turn
  lexical, never without its reply (`companion.app.memory_recall`).
- `forget`: MemoryForgotten; the memory leaves every later recall.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog

from companion.app.accounts import known_user
from companion.app.characters import owned_character
from companion.app.memory_recall import BOOK_VIEWS, QueryVector
from companion.app.unit_of_work import UnitOfWork
from companion.domain.chat import RecalledMemory
from companion.domain.emotion import local_time
from companion.domain.errors import MemoryNotFound
from companion.domain.identity import memory_book_id
from companion.domain.lemmas import Lemmatizer, PlainLemmatizer
from companion.domain.memory import MemoryBook
from companion.domain.memory_extraction import MemoryExtractor, extract_memories
from companion.domain.memory_values import MemoryCandidate
from companion.domain.recall import recall
from companion.domain.retrieval import DEFAULT_K, TextEmbedder

log = structlog.get_logger(__name__)


@dataclass
class MemorySettings:
    """How the turn uses memory (from the settings)."""

    recall_k: int = DEFAULT_K
    """How many memories retrieval brings to a prompt at most."""
    lemmatizer: Lemmatizer = field(default_factory=PlainLemmatizer)
    extractor: MemoryExtractor | None = None
    """The model extractor, when a real model is configured; the rules always run."""
    embedder: TextEmbedder | None = None
    """Vectors of memories, after the reply (None: retrieval is lexical)."""
    query_embedder: TextEmbedder | None = None
    """The message's vector in the turn: the same model, with a short timeout."""
    capacity: int | None = None
    """Memories a book keeps, whatever the tier (None: the tier's)."""
    min_similarity: float = 0.3
    """Below this cosine similarity a vector relates nothing (real models give nearly every
    pair of texts a positive one)."""


MAX_EMBEDDED_PER_TURN = 64
"""The most memories given a vector after one reply (a book that had none catches up)."""


@dataclass(frozen=True)
class Recall:
    memories: tuple[RecalledMemory, ...]
    position: int | None
    """The notification id of the memories recorded from the message (None: none)."""


class MemoryWork:
    """The model extractor's queue: one worker thread, so extractions never pile up threads."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-extractor")
        self._pending: list[Future[None]] = []

    def submit(self, work: object) -> None:
        assert callable(work)
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._pool.submit(work))

    def drain(self) -> None:
        """Wait for every extraction submitted so far (tests, and a clean shutdown)."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.exception()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class Memories:
    """The memory use cases of the chat turn and of the user, over one unit of work."""

    def __init__(
        self,
        uow: UnitOfWork,
        settings: MemorySettings | None = None,
        work: MemoryWork | None = None,
    ) -> None:
        self.uow = uow
        self.settings = settings or MemorySettings()
        """How the turn recalls and remembers (the composition root sets it from settings)."""
        self.work = work or MemoryWork()
        """The model extractor's worker: it reads messages after their reply is stored."""

    def close(self) -> None:
        self.work.close()

    def recall_and_remember(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        message_id: UUID,
        text: str,
        now: datetime,
        timezone: str,
        tier: str,
    ) -> Recall:
        """The memories for the prompt of this message, and the rules' memories of it recorded."""
        settings = self.settings
        terms = settings.lemmatizer.lemmas(text)
        today = local_time(now, timezone).date()
        candidates = extract_memories(text, message_id=message_id, now=now)
        recalled: list[tuple[RecalledMemory, ...]] = []
        query = QueryVector(settings.query_embedder, text, settings.min_similarity)

        def save() -> int | None:
            book = self._book_to_change(user_id, character_id)
            memories, index = ({}, None) if book is None else BOOK_VIEWS.of(book, now)
            scores = None if book is None else query.scores(book, now)
            recalled.append(
                recall(
                    memories,
                    terms,
                    now,
                    today=today,
                    k=settings.recall_k,
                    embedding_scores=scores,
                    index=index,
                )
            )
            if not candidates:
                return None
            if book is None:
                book = MemoryBook(user_id=user_id, character_id=character_id)
            _record(book, candidates, now, settings, tier)
            return self.uow.save(book) if book.pending_events else None

        position = self.uow.retry(save)
        return Recall(recalled[-1], position)

    def recall_only(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        now: datetime,
        timezone: str,
    ) -> tuple[RecalledMemory, ...]:
        """The memories for a prompt, recording nothing (another take of a reply)."""
        settings = self.settings
        book = self.uow.find(MemoryBook, memory_book_id(user_id, character_id), to_change=False)
        if book is None:
            return ()
        today = local_time(now, timezone).date()
        terms = settings.lemmatizer.lemmas(text)
        query = QueryVector(settings.query_embedder, text, settings.min_similarity)
        scores = query.scores(book, now)
        memories, index = BOOK_VIEWS.of(book, now)
        return recall(
            memories,
            terms,
            now,
            today=today,
            k=settings.recall_k,
            embedding_scores=scores,
            index=index,
        )

    def remember_later(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        message_id: UUID,
        text: str,
        now: datetime,
        model_failed: bool = False,
    ) -> None:
        """Queue the model extractor on this message, when there is one, then the vectors of
        the memories that have none, when there is an embeddings model; never raises.

        Not when the chat model has just failed (the reply is the fallback): the
        same server would most likely fail the extraction too.
        """
        extractor = self.settings.extractor
        embedder = self.settings.embedder
        if (extractor is None and embedder is None) or model_failed:
            return

        def work() -> None:
            if extractor is not None:
                try:
                    candidates = extractor.extract(text, message_id=message_id, now=now)
                    if candidates:
                        tier = known_user(self.uow, user_id).tier
                        self.remember(user_id, character_id, candidates, now, tier)
                except Exception:
                    log.exception("memory.extraction_failed", message_id=str(message_id))
            if embedder is not None:
                try:
                    self.embed_memories(embedder, user_id, character_id, now)
                except Exception:
                    log.exception("memory.embedding_failed", message_id=str(message_id))

        self.work.submit(work)

    def remember(
        self,
        user_id: UUID,
        character_id: UUID,
        candidates: Sequence[MemoryCandidate],
        now: datetime,
        tier: str,
    ) -> int | None:
        """Record candidates in the book (a repeat reinforces, a correction supersedes)."""
        settings = self.settings

        def save() -> int | None:
            book = self._book_to_change(user_id, character_id) or MemoryBook(
                user_id=user_id, character_id=character_id
            )
            _record(book, candidates, now, settings, tier)
            return self.uow.save(book) if book.pending_events else None

        return self.uow.retry(save)

    def embed_memories(
        self, embedder: TextEmbedder, user_id: UUID, character_id: UUID, now: datetime
    ) -> int | None:
        """Give the live memories of the book that have no vector of this model one
        (MemoryEmbedded), at most MAX_EMBEDDED_PER_TURN; nothing when the call fails."""
        book = self.uow.find(MemoryBook, memory_book_id(user_id, character_id), to_change=False)
        if book is None:
            return None
        missing = book.unembedded(embedder.name, now)[:MAX_EMBEDDED_PER_TURN]
        if not missing:
            return None
        vectors = embedder.embed([memory.text for memory in missing])
        if vectors is None or len(vectors) != len(missing):
            return None

        def save() -> int | None:
            book = self._book_to_change(user_id, character_id)
            if book is None:
                return None
            for memory, vector in zip(missing, vectors, strict=True):
                # Forgotten or superseded while the vector was made: it is not kept.
                book.embed(memory.memory_id, embedder.name, vector, now)
            return self.uow.save(book) if book.pending_events else None

        return self.uow.retry(save)

    def forget(self, *, user_id: UUID, character_id: UUID, memory_id: UUID) -> int | None:
        """The user asked: the memory is forgotten for good (MemoryForgotten).

        Another user's character raises CharacterNotFound; an unknown, already
        gone or another character's memory raises MemoryNotFound.
        """
        owned_character(self.uow, user_id=user_id, character_id=character_id)

        def save() -> int | None:
            book = self._book_to_change(user_id, character_id)
            if book is None or not book.forget(memory_id, self.uow.clock()):
                raise MemoryNotFound("no such memory")
            return self.uow.save(book)

        position = self.uow.retry(save)
        log.info("memory.forgotten", user_id=str(user_id), character_id=str(character_id))
        return position

    def _book_to_change(self, user_id: UUID, character_id: UUID) -> MemoryBook | None:
        return self.uow.find(MemoryBook, memory_book_id(user_id, character_id))


def _record(
    book: MemoryBook,
    candidates: Sequence[MemoryCandidate],
    now: datetime,
    settings: MemorySettings,
    tier: str,
) -> None:
    for candidate in candidates:
        book.record(candidate, now, lemmatizer=settings.lemmatizer)
    book.enforce_capacity(tier, now, capacity=settings.capacity)
