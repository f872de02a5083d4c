"""Sessions: a user connects and leaves again, for daily actives and session lengths."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from companion.app.unit_of_work import UnitOfWork
from companion.domain.sessions import Session


class Sessions:
    """The use cases of a user's sessions (app.session_tracker says when one starts and ends)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def now(self) -> datetime:
        """The time on the use cases' clock."""
        return self.uow.clock()

    def start_session(self, *, user_id: UUID, device: str | None) -> UUID:
        """A session started (SessionStarted)."""
        session = Session(user_id=user_id, device=device, started_at=self.uow.clock())
        self.uow.save(session)
        return session.id

    def end_session(self, session_id: UUID, at: datetime | None = None) -> None:
        """The session ended, at `at` (its last socket's close) or now (SessionEnded)."""

        def save() -> None:
            session = self.uow.load(Session, session_id)
            session.end(self.uow.clock() if at is None else at)
            self.uow.save(session)

        self.uow.retry(save)
