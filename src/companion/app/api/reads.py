"""The read side as handlers see it: each read model with the view store already given.

Built once per application over the Companion's read models and view store, so
a handler asks `reads.characters.get(user_id, character_id)` and never handles
the view store itself. With a replica (COMPANION_READ_DATABASE_URL) that view
store is the replica's: a read that must show a write has waited for the
replica to reach it (`consistency`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from companion.app.bootstrap import Companion, ReadModels
from companion.app.unit_of_work import UnitOfWork
from projections.catalogue import CatalogueProjection, StoreItemView
from projections.characters import CharactersProjection, CharacterView
from projections.conversations import ConversationsProjection, MessagePage
from projections.emotion_states import EmotionStatesProjection, EmotionView, MoodPoint
from projections.inventories import InventoriesProjection, Inventory, LedgerEntry
from projections.memories import MemoriesProjection, MemoryPage, MemoryView
from projections.store import Row, ViewStore
from projections.users import UsersProjection, UserView


@dataclass(frozen=True)
class UserReads:
    model: UsersProjection
    views: ViewStore

    def get(self, user_id: UUID) -> UserView | None:
        return self.model.get(self.views, user_id)


@dataclass(frozen=True)
class CharacterReads:
    model: CharactersProjection
    views: ViewStore

    def get(self, user_id: UUID, character_id: UUID) -> CharacterView | None:
        return self.model.get(self.views, user_id, character_id)

    def owned_by(self, user_id: UUID) -> list[CharacterView]:
        return self.model.owned_by(self.views, user_id)


@dataclass(frozen=True)
class ConversationReads:
    model: ConversationsProjection
    views: ViewStore

    def messages(self, conversation_id: UUID, *, before: UUID | None, limit: int) -> MessagePage:
        return self.model.messages(self.views, conversation_id, before=before, limit=limit)

    def message_rows(self, message_ids: Iterable[UUID]) -> list[Row]:
        """The id, text and time of each of these messages that is still there."""
        names = {f"m{i}": message_id for i, message_id in enumerate(message_ids)}
        if not names:
            return []
        with self.views.read() as cursor:
            return cursor.query(
                f"SELECT message_id, text, created_at FROM {self.model.messages_table}"
                f" WHERE message_id IN ({', '.join(':' + name for name in names)})",
                names,
            )


@dataclass(frozen=True)
class InventoryReads:
    model: InventoriesProjection
    views: ViewStore

    def inventory(self, user_id: UUID) -> Inventory:
        return self.model.inventory(self.views, user_id)

    def gems(self, user_id: UUID) -> int:
        return self.model.gems(self.views, user_id)

    def ledger_of(self, user_id: UUID, *, limit: int | None = None) -> list[LedgerEntry]:
        return self.model.ledger_of(self.views, user_id, limit=limit)


@dataclass(frozen=True)
class CatalogueReads:
    model: CatalogueProjection
    views: ViewStore

    def items(self) -> list[StoreItemView]:
        return self.model.items(self.views)


@dataclass(frozen=True)
class EmotionReads:
    model: EmotionStatesProjection
    views: ViewStore

    def current(self, user_id: UUID, character_id: UUID) -> EmotionView | None:
        return self.model.current(self.views, user_id, character_id)

    def at(self, user_id: UUID, character_id: UUID, moment: datetime) -> EmotionView | None:
        return self.model.at(self.views, user_id, character_id, moment)

    def history(
        self,
        user_id: UUID,
        character_id: UUID,
        *,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[MoodPoint]:
        return self.model.history(
            self.views, user_id, character_id, since=since, until=until, limit=limit
        )


@dataclass(frozen=True)
class MemoryReads:
    """Live memories as of the use cases' clock (which tests move)."""

    model: MemoriesProjection
    views: ViewStore
    uow: UnitOfWork

    def page(
        self,
        user_id: UUID,
        character_id: UUID,
        *,
        before: UUID | None,
        limit: int,
        kind: str | None,
    ) -> MemoryPage | None:
        return self.model.page(
            self.views,
            user_id,
            character_id,
            now=self.uow.clock(),
            before=before,
            limit=limit,
            kind=kind,
        )

    def get(self, user_id: UUID, character_id: UUID, memory_id: UUID) -> MemoryView | None:
        return self.model.get(self.views, user_id, character_id, memory_id, self.uow.clock())


@dataclass(frozen=True)
class Reads:
    """Every read model a handler asks, bound to the view store reads come from."""

    users: UserReads
    characters: CharacterReads
    conversations: ConversationReads
    inventories: InventoryReads
    catalogue: CatalogueReads
    emotion_states: EmotionReads
    memories: MemoryReads

    @classmethod
    def of(cls, companion: Companion) -> Reads:
        models: ReadModels = companion.read_models
        views = companion.read_views or companion.views
        return cls(
            users=UserReads(models.users, views),
            characters=CharacterReads(models.characters, views),
            conversations=ConversationReads(models.conversations, views),
            inventories=InventoryReads(models.inventories, views),
            catalogue=CatalogueReads(models.catalogue, views),
            emotion_states=EmotionReads(models.emotion_states, views),
            memories=MemoryReads(models.memories, views, companion.uow),
        )


def replica_check(companion: Companion) -> str | None:
    """Readiness of the replica reads come from: "ok", what went wrong, or None without one.

    A replica that cannot be read makes the process not ready (rather than reads
    quietly going to the primary): its reads would fail, and a load balancer
    should send them to a process whose replica answers.
    """
    views = companion.read_views
    if views is None:
        return None
    try:
        with views.read() as cursor:
            cursor.query("SELECT 1 AS ok")
    except Exception as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"
