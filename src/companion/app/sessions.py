"""Sessions: a connection opens and closes, for daily actives and session lengths."""

from __future__ import annotations

from uuid import UUID

from companion.app.unit_of_work import UnitOfWork
from companion.domain.sessions import Session


class Sessions:
    """The use cases of a user's connections."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def start_session(self, *, user_id: UUID, device: str | None) -> UUID:
        """A connection opened (SessionStarted)."""
        session = Session(user_id=user_id, device=device, started_at=self.uow.clock())
        self.uow.save(session)
        return session.id

    def end_session(self, session_id: UUID) -> None:
        """The connection closed (SessionEnded)."""

        def save() -> None:
            session = self.uow.load(Session, session_id)
            session.end(self.uow.clock())
            self.uow.save(session)

        self.uow.retry(save)
