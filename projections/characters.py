"""Characters: each user's characters with their persona, for listing and showing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.domain.characters import Character
from projections.base import Projection, handles
from projections.store import ViewCursor, ViewStore, as_datetime, as_json, as_uuid


@dataclass(frozen=True)
class CharacterView:
    character_id: UUID
    owner_id: UUID
    persona: dict[str, Any]
    relationship_level: int
    equipped: dict[str, str]
    created_at: datetime
    updated_at: datetime


class CharactersProjection(Projection):
    """One row per character, readable by its owner only."""

    name = "characters"
    version = 1
    table_stems = ("characters",)

    @property
    def characters_table(self) -> str:
        return self.table("characters")

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.characters_table} ("
            " character_id {uuid} PRIMARY KEY,"
            " owner_id {uuid} NOT NULL,"
            " persona {json} NOT NULL,"
            " relationship_level {bigint} NOT NULL,"
            " equipped {json} NOT NULL,"
            " created_at {timestamp} NOT NULL,"
            " updated_at {timestamp} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {self.characters_table}_owner"
            f" ON {self.characters_table} (owner_id, created_at)",
        ]

    @handles(Character.Created)
    def _created(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.characters_table}"
            " (character_id, owner_id, persona, relationship_level, equipped,"
            " created_at, updated_at)"
            " VALUES (:id, :owner_id, :persona, 1, :equipped, :at, :at)",
            {
                "id": event.originator_id,
                "owner_id": event.owner_id,
                "persona": event.persona,
                "equipped": {},
                "at": event.timestamp,
            },
        )

    @handles(Character.PersonaUpdated)
    def _persona_updated(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._update(cursor, event, "persona = :value", event.persona)

    @handles(Character.RelationshipLevelChanged)
    def _level_changed(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._update(cursor, event, "relationship_level = :value", event.after)

    @handles(Character.ItemEquipped)
    def _equipped(self, cursor: ViewCursor, event: Any, position: int) -> None:
        rows = cursor.query(
            f"SELECT equipped FROM {self.characters_table} WHERE character_id = :id",
            {"id": event.originator_id},
        )
        equipped = dict(as_json(rows[0]["equipped"])) if rows else {}
        equipped[event.slot] = str(event.item_id)
        self._update(cursor, event, "equipped = :value", equipped)

    def _update(self, cursor: ViewCursor, event: Any, assignment: str, value: Any) -> None:
        cursor.execute(
            f"UPDATE {self.characters_table} SET {assignment}, updated_at = :at"
            " WHERE character_id = :id",
            {"value": value, "at": event.timestamp, "id": event.originator_id},
        )

    # -- queries -----------------------------------------------------------------------

    def owned_by(self, store: ViewStore, owner_id: UUID) -> list[CharacterView]:
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.characters_table} WHERE owner_id = :owner_id"
                " ORDER BY created_at, character_id",
                {"owner_id": owner_id},
            )
        return [_character(row) for row in rows]

    def get(self, store: ViewStore, owner_id: UUID, character_id: UUID) -> CharacterView | None:
        """The character if it belongs to owner_id; None for another user's, as for none."""
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.characters_table}"
                " WHERE character_id = :id AND owner_id = :owner_id",
                {"id": character_id, "owner_id": owner_id},
            )
        return _character(rows[0]) if rows else None


def _character(row: dict[str, Any]) -> CharacterView:
    return CharacterView(
        character_id=as_uuid(row["character_id"]),
        owner_id=as_uuid(row["owner_id"]),
        persona=as_json(row["persona"]),
        relationship_level=int(row["relationship_level"]),
        equipped=as_json(row["equipped"]),
        created_at=as_datetime(row["created_at"]),
        updated_at=as_datetime(row["updated_at"]),
    )
