"""Admins: the accounts that may read the business's figures (the admin routes)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from companion.domain.users import User
from projections.base import Projection, handles
from projections.store import ViewCursor, ViewStore


class AdminsProjection(Projection):
    """One row per account holding the admin role; granting adds it, revoking or
    forgetting the account removes it."""

    name = "admins"
    version = 1
    table_stems = ("admins",)

    @property
    def admins_table(self) -> str:
        return self.table("admins")

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.admins_table} ("
            " user_id {uuid} PRIMARY KEY,"
            " granted_at {timestamp} NOT NULL)",
        ]

    @handles(User.AdminGranted)
    def _granted(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.defer(
            f"INSERT INTO {self.admins_table} (user_id, granted_at) VALUES (:id, :at)",
            {"id": event.originator_id, "at": event.timestamp},
        )

    @handles(User.AdminRevoked, User.Forgotten)
    def _revoked(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.defer(
            f"DELETE FROM {self.admins_table} WHERE user_id = :id", {"id": event.originator_id}
        )

    def is_admin(self, store: ViewStore, user_id: UUID) -> bool:
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT user_id FROM {self.admins_table} WHERE user_id = :id", {"id": user_id}
            )
        return bool(rows)
