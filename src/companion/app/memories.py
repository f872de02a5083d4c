"""Memory in the chat turn: recall for the prompt, remember what the user said, forget on request.

The write path works on the MemoryBook aggregate (the read side, the
`memories` projection, answers the routes):

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
  lexical, never without its reply.
- `forget`: MemoryForgotten; the memory leaves every later recall.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError

from companion.domain.chat import RecalledMemory
from companion.domain.emotion import local_time
from companion.domain.errors import MemoryNotFound
from companion.domain.identity import memory_book_id
from companion.domain.lemmas import Lemmatizer, PlainLemmatizer
from companion.domain.memory import Memory, MemoryBook, MemoryCandidate
from companion.domain.memory_extraction import MemoryExtractor, extract_memories
from companion.domain.recall import recall
from companion.domain.retrieval import DEFAULT_K, LexicalIndex, TextEmbedder, similarities

if TYPE_CHECKING:
    from companion.app.application import CompanionApplication

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


@dataclass(frozen=True)
class _BookView:
    memories: dict[UUID, Memory]
    index: LexicalIndex
    stale_at: datetime | None
    """When the first of its memories passes its horizon (None: none ever does)."""


class BookViews:
    """Each book's live memories by id and their lexical index, kept per book version.

    A book changes only on the turns that record something, so most turns rank
    over what an earlier one built instead of decoding every memory and indexing
    it again (tens of milliseconds at thousands of memories). A version names
    one state of a book in the log, so a view is right for any process and
    application that loads that version. A view is built again once one of its
    memories has passed its horizon, so its statistics are those of the live
    memories, as a fresh build's. The least recently used books leave past `size`.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._views: OrderedDict[tuple[UUID, int], _BookView] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, book: MemoryBook, now: datetime) -> tuple[dict[UUID, Memory], LexicalIndex]:
        key = (book.id, book.version)
        with self._lock:
            view = self._views.get(key)
            if view is not None and (view.stale_at is None or now < view.stale_at):
                self._views.move_to_end(key)
                return view.memories, view.index
        memories = {memory.memory_id: memory for memory in book.memories(now)}
        ends = [m.expires_at for m in memories.values() if m.expires_at is not None]
        view = _BookView(memories, LexicalIndex.of(memories.values()), min(ends, default=None))
        with self._lock:
            self._views[key] = view
            self._views.move_to_end(key)
            while len(self._views) > self.size:
                self._views.popitem(last=False)
        return view.memories, view.index

    def __len__(self) -> int:
        return len(self._views)


BOOK_VIEWS = BookViews()
"""This process's kept views of memory books."""


def recall_and_remember(
    application: CompanionApplication,
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
    settings = application.memory
    terms = settings.lemmatizer.lemmas(text)
    today = local_time(now, timezone).date()
    candidates = extract_memories(text, message_id=message_id, now=now)
    recalled: list[tuple[RecalledMemory, ...]] = []
    query = _QueryVector(settings.query_embedder, text, settings.min_similarity)

    def save() -> int | None:
        book = _book_to_change(application, user_id, character_id)
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
        return application.save_all(book) if book.pending_events else None

    position: int | None = application._retry_on_conflict(save)
    return Recall(recalled[-1], position)


def recall_only(
    application: CompanionApplication,
    *,
    user_id: UUID,
    character_id: UUID,
    text: str,
    now: datetime,
    timezone: str,
) -> tuple[RecalledMemory, ...]:
    """The memories for a prompt, recording nothing (another take of a reply)."""
    settings = application.memory
    try:
        book = application._load(MemoryBook, memory_book_id(user_id, character_id), to_change=False)
    except AggregateNotFoundError:
        return ()
    today = local_time(now, timezone).date()
    terms = settings.lemmatizer.lemmas(text)
    scores = _QueryVector(settings.query_embedder, text, settings.min_similarity).scores(book, now)
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
    application: CompanionApplication,
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
    extractor = application.memory.extractor
    embedder = application.memory.embedder
    if (extractor is None and embedder is None) or model_failed:
        return

    def work() -> None:
        if extractor is not None:
            try:
                candidates = extractor.extract(text, message_id=message_id, now=now)
                if candidates:
                    tier = application.user(user_id).tier
                    remember(application, user_id, character_id, candidates, now, tier)
            except Exception:
                log.exception("memory.extraction_failed", message_id=str(message_id))
        if embedder is not None:
            try:
                embed_memories(application, embedder, user_id, character_id, now)
            except Exception:
                log.exception("memory.embedding_failed", message_id=str(message_id))

    application.memory_work.submit(work)


def remember(
    application: CompanionApplication,
    user_id: UUID,
    character_id: UUID,
    candidates: Sequence[MemoryCandidate],
    now: datetime,
    tier: str,
) -> int | None:
    """Record candidates in the book (a repeat reinforces, a correction supersedes)."""
    settings = application.memory

    def save() -> int | None:
        book = _book_to_change(application, user_id, character_id) or MemoryBook(
            user_id=user_id, character_id=character_id
        )
        _record(book, candidates, now, settings, tier)
        return application.save_all(book) if book.pending_events else None

    position: int | None = application._retry_on_conflict(save)
    return position


def embed_memories(
    application: CompanionApplication,
    embedder: TextEmbedder,
    user_id: UUID,
    character_id: UUID,
    now: datetime,
) -> int | None:
    """Give the live memories of the book that have no vector of this model one
    (MemoryEmbedded), at most MAX_EMBEDDED_PER_TURN; nothing when the call fails."""
    try:
        book = application._load(MemoryBook, memory_book_id(user_id, character_id), to_change=False)
    except AggregateNotFoundError:
        return None
    missing = book.unembedded(embedder.name, now)[:MAX_EMBEDDED_PER_TURN]
    if not missing:
        return None
    vectors = embedder.embed([memory.text for memory in missing])
    if vectors is None or len(vectors) != len(missing):
        return None

    def save() -> int | None:
        book = _book_to_change(application, user_id, character_id)
        if book is None:
            return None
        for memory, vector in zip(missing, vectors, strict=True):
            # Forgotten or superseded while the vector was made: it is not kept.
            book.embed(memory.memory_id, embedder.name, vector, now)
        return application.save_all(book) if book.pending_events else None

    position: int | None = application._retry_on_conflict(save)
    return position


class _QueryVector:
    """The message's vector, asked for at most once a turn and only when the book has
    vectors of the model to compare it with."""

    def __init__(self, embedder: TextEmbedder | None, text: str, floor: float) -> None:
        self._embedder = embedder
        self._text = text
        self._floor = floor
        self._asked = False
        self._vector: tuple[float, ...] | None = None

    def scores(self, book: MemoryBook, now: datetime) -> dict[UUID, float] | None:
        """Each memory's similarity to the message, or None (retrieval stays lexical)."""
        if self._embedder is None:
            return None
        vectors = book.vectors(self._embedder.name, now)
        if not vectors:
            return None
        vector = self._vector_of_message(self._embedder)
        if vector is None:
            return None
        return {
            memory_id: similarity
            for memory_id, similarity in similarities(vector, vectors).items()
            if similarity >= self._floor
        }

    def _vector_of_message(self, embedder: TextEmbedder) -> tuple[float, ...] | None:
        if not self._asked:
            self._asked = True
            try:
                # The adapter logs its own failures (a timeout, an error status, junk).
                answer = embedder.embed([self._text])
            except Exception as error:
                log.warning("memory.query_embedding_failed", error=type(error).__name__)
                answer = None
            self._vector = answer[0] if answer is not None and len(answer) == 1 else None
        return self._vector


def forget(
    application: CompanionApplication, *, user_id: UUID, character_id: UUID, memory_id: UUID
) -> int | None:
    """The user asked: the memory is forgotten for good (MemoryForgotten).

    Another user's character raises CharacterNotFound; an unknown, already
    gone or another character's memory raises MemoryNotFound.
    """
    application.character(user_id=user_id, character_id=character_id)

    def save() -> int | None:
        book = _book_to_change(application, user_id, character_id)
        if book is None or not book.forget(memory_id, application.clock()):
            raise MemoryNotFound("no such memory")
        return application.save_all(book)

    position: int | None = application._retry_on_conflict(save)
    log.info("memory.forgotten", user_id=str(user_id), character_id=str(character_id))
    return position


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


def _book_to_change(
    application: CompanionApplication, user_id: UUID, character_id: UUID
) -> MemoryBook | None:
    try:
        return application._load(MemoryBook, memory_book_id(user_id, character_id))
    except AggregateNotFoundError:
        return None
