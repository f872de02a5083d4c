"""What recall ranks over: each memory book's live memories, indexed, and the message's vector.

Both are kept off the turn's critical path where they can be: a book's view is
built once per book version, and the message is embedded at most once a turn,
only when the book has vectors to compare it with.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog

from companion.domain.memory import MemoryBook
from companion.domain.memory_values import Memory
from companion.domain.retrieval import LexicalIndex, TextEmbedder, similarities

log = structlog.get_logger(__name__)


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


class QueryVector:
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
