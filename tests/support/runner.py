"""What the projection runner's tests share: the backends they run on and a read model
that fails on demand."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from companion.app.bootstrap import Companion
from companion.domain.users import User
from projections.base import Projection, handles
from projections.store import ViewCursor
from tests.support.users import PASSWORD

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
"""The backends whose read models the runner writes in a database (memory has none)."""


class DiskFull(Exception):
    pass


class Registrations(Projection):
    """Every registered user, each row flushed as soon as it is handled; fails on demand."""

    name: ClassVar[str] = "registrations"
    version: ClassVar[int] = 1
    table_stems: ClassVar[tuple[str, ...]] = ("registrations",)

    def __init__(self) -> None:
        self.fail_at: int | None = None
        self.handled = 0

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table('registrations')} "
            "(user_id {uuid} PRIMARY KEY, position {bigint} NOT NULL)"
        ]

    @handles(User.Registered)
    def registered(self, cursor: ViewCursor, event: Any, position: int) -> None:
        self.handled += 1
        if self.handled == self.fail_at:
            raise DiskFull
        cursor.defer(
            f"INSERT INTO {self.table('registrations')} (user_id, position) "
            "VALUES (:user_id, :position)",
            {"user_id": event.originator_id, "position": position},
        )
        # Sent to the database now, so the failure below comes after rows were written.
        cursor.flush()


def register(companion: Companion, n: int) -> None:
    """The `n`th user: one User.Registered event for `Registrations`."""
    companion.accounts.register(
        email=f"user{n}@example.org", password=PASSWORD, name="Aoi", nickname="Aoi"
    )
