"""What every read model is: a name, a version, its tables and its event handlers.

A read model names its tables only through `table(stem)` (or properties built
on it), in its DDL, its handlers and its queries alike: a rebuild fills a
`fresh()` copy of it, whose `table()` names fresh tables and whose `key`
tracks its own position, then switches those tables in for the live ones.
Handlers see only the events of their `topics`; the runner never decodes the
others.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic

from projections.store import Row, ViewCursor, ViewStore

Handler = Callable[[Any, ViewCursor, Any, int], None]
FRESH_SUFFIX = "_next"


class Projection(ABC):
    """A read model. Subclasses declare tables and handle the events they care about.

    Handlers are registered with ``@handles(EventClass)`` and receive
    ``(self, cursor, event, position)``; they run inside the transaction that
    also advances the projection's tracking position.
    """

    name: ClassVar[str]
    version: ClassVar[int]
    table_stems: ClassVar[tuple[str, ...]]
    _handlers: ClassVar[dict[type, Handler]]
    _topics: ClassVar[tuple[str, ...]]
    _fresh_suffix: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass (a new version, say) keeps its parents' handlers; a method
        # it overrides by name replaces the parent's.
        names: dict[type, str] = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                for event_class in getattr(attr, "_handles", ()):
                    names[event_class] = name
        cls._handlers = {event_class: getattr(cls, name) for event_class, name in names.items()}
        cls._topics = tuple(get_topic(event_class) for event_class in cls._handlers)

    @property
    def key(self) -> str:
        """The tracking key: a new version tracks (and builds) from scratch."""
        return f"{self.name}@v{self.version}{self._fresh_suffix}"

    def table(self, stem: str) -> str:
        """This version's name for a table: a new version writes fresh tables."""
        assert stem in self.table_stems, stem
        return f"{stem}_v{self.version}{self._fresh_suffix}"

    def fresh(self) -> Projection:
        """This read model writing fresh tables under a tracking key of their own.

        What a rebuild fills while this one keeps serving reads; see
        `ProjectionRunner.rebuild`.
        """
        twin = copy.copy(self)
        twin._fresh_suffix = FRESH_SUFFIX
        return twin

    @property
    def is_fresh(self) -> bool:
        return bool(self._fresh_suffix)

    @property
    def tables(self) -> list[str]:
        return [self.table(stem) for stem in self.table_stems]

    @property
    def topics(self) -> list[str]:
        """The topics of the events it handles: the only ones the runner reads for it."""
        return list(self._topics)

    @abstractmethod
    def ddl(self) -> list[str]:
        """CREATE statements (portable, with {uuid}-style types) for this version's tables."""

    def handle(self, cursor: ViewCursor, event: DomainEventProtocol[Any], position: int) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(self, cursor, event, position)

    def before_commit(self, cursor: ViewCursor) -> None:  # noqa: B027 - an optional hook
        """Write what the handlers gathered in `cursor.scratch` during this transaction."""

    def clear(self, cursor: ViewCursor) -> None:
        for table in self.tables:
            cursor.execute(f"DELETE FROM {table}")

    def dump(self, store: ViewStore) -> dict[str, list[Row]]:
        """Every row of every table, in a stable order: for comparing two builds."""
        with store.read() as cursor:
            return {
                table: cursor.query(f"SELECT * FROM {table} ORDER BY 1") for table in self.tables
            }


def handles(*event_classes: type) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        handler._handles = event_classes  # type: ignore[attr-defined]
        return handler

    return register
