"""Users: each account's profile, tier and token version, for `/me` and for checking tokens;
and how often (and when last) someone tried to register the account's email."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.domain.users import User
from projections.base import Projection, handles
from projections.store import ViewCursor, ViewStore, as_datetime, as_uuid


@dataclass(frozen=True)
class UserView:
    user_id: UUID
    email: str
    name: str
    nickname: str
    timezone: str
    tier: str
    token_version: int
    forgotten: bool
    created_at: datetime
    updated_at: datetime
    sign_up_attempts: int = 0
    """Sign-ups someone tried with this account's email (see User.SignUpAttempted)."""
    last_sign_up_attempt_at: datetime | None = None


class UsersProjection(Projection):
    """One row per account. A forgotten user keeps an empty row, so old tokens stay refused."""

    name = "users"
    version = 2
    table_stems = ("users",)

    @property
    def users_table(self) -> str:
        return self.table("users")

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.users_table} ("
            " user_id {uuid} PRIMARY KEY,"
            " email TEXT NOT NULL,"
            " name TEXT NOT NULL,"
            " nickname TEXT NOT NULL,"
            " timezone TEXT NOT NULL,"
            " tier TEXT NOT NULL,"
            " token_version {bigint} NOT NULL,"
            " forgotten {bool} NOT NULL,"
            " created_at {timestamp} NOT NULL,"
            " updated_at {timestamp} NOT NULL,"
            " sign_up_attempts {bigint} NOT NULL DEFAULT 0,"
            " last_sign_up_attempt_at {timestamp})",
        ]

    @handles(User.Registered)
    def _registered(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.defer(
            f"INSERT INTO {self.users_table} (user_id, email, name, nickname, timezone, tier,"
            " token_version, forgotten, created_at, updated_at)"
            " VALUES (:id, :email, :name, :nickname, :timezone, 'free', 0, FALSE, :at, :at)",
            {
                "id": event.originator_id,
                "email": event.email,
                "name": event.name,
                "nickname": event.nickname,
                "timezone": event.timezone,
                "at": event.timestamp,
            },
        )

    @handles(User.ProfileUpdated)
    def _profile_updated(self, cursor: ViewCursor, event: Any, position: int) -> None:
        changes = {k: v for k, v in event.changes.items() if k in ("name", "nickname", "timezone")}
        if changes:
            self._update(cursor, event, ", ".join(f"{k} = :{k}" for k in sorted(changes)), changes)

    @handles(User.PasswordChanged)
    def _password_changed(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._update(cursor, event, "token_version = token_version + 1", {})

    @handles(User.TierChanged)
    def _tier_changed(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._update(cursor, event, "tier = :tier", {"tier": event.tier})

    @handles(User.SignUpAttempted)
    def _sign_up_attempted(self, cursor: ViewCursor, event: Any, position: int) -> None:
        cursor.defer(
            f"UPDATE {self.users_table} SET sign_up_attempts = sign_up_attempts + 1,"
            " last_sign_up_attempt_at = :at WHERE user_id = :id",
            {"at": event.timestamp, "id": event.originator_id},
        )

    @handles(User.Forgotten)
    def _forgotten(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self._update(
            cursor,
            event,
            "email = '', name = '', nickname = '', forgotten = TRUE,"
            " token_version = token_version + 1",
            {},
        )

    def _update(
        self, cursor: ViewCursor, event: Any, assignment: str, values: dict[str, Any]
    ) -> None:
        cursor.defer(
            f"UPDATE {self.users_table} SET {assignment}, updated_at = :at WHERE user_id = :id",
            {**values, "at": event.timestamp, "id": event.originator_id},
        )

    # -- queries -----------------------------------------------------------------------

    def get(self, store: ViewStore, user_id: UUID) -> UserView | None:
        with store.read() as cursor:
            rows = cursor.query(
                f"SELECT * FROM {self.users_table} WHERE user_id = :id", {"id": user_id}
            )
        return _user(rows[0]) if rows else None


def _user(row: dict[str, Any]) -> UserView:
    return UserView(
        user_id=as_uuid(row["user_id"]),
        email=row["email"],
        name=row["name"],
        nickname=row["nickname"],
        timezone=row["timezone"],
        tier=row["tier"],
        token_version=int(row["token_version"]),
        forgotten=bool(row["forgotten"]),
        created_at=as_datetime(row["created_at"]),
        updated_at=as_datetime(row["updated_at"]),
        sign_up_attempts=int(row["sign_up_attempts"]),
        last_sign_up_attempt_at=(
            as_datetime(row["last_sign_up_attempt_at"])
            if row["last_sign_up_attempt_at"] is not None
            else None
        ),
    )
