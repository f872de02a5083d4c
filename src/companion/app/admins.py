"""The admin role: the accounts that may read the business's figures."""

from __future__ import annotations

import structlog

from companion.app.unit_of_work import UnitOfWork
from companion.domain.errors import UserNotFound
from companion.domain.identity import email_claim_id, normalise_email
from companion.domain.users import EmailClaim, User

log = structlog.get_logger(__name__)


class Admins:
    """Grant and revoke the admin role (User.AdminGranted / User.AdminRevoked)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def grant(self, email: str) -> bool:
        """Make the account with this email an admin; says whether it was not one already."""
        return self._change(email, grant=True)

    def revoke(self, email: str) -> bool:
        """Make the account with this email an ordinary one; says whether it was an admin."""
        return self._change(email, grant=False)

    def _change(self, email: str, *, grant: bool) -> bool:
        claim = self.uow.find(EmailClaim, email_claim_id(normalise_email(email)), to_change=False)
        if claim is None:
            raise UserNotFound("no account with this email")
        user_id = claim.user_id

        def save() -> bool:
            user = self.uow.find(User, user_id)
            if user is None or user.forgotten:
                raise UserNotFound("no account with this email")
            changed = user.grant_admin() if grant else user.revoke_admin()
            if changed:
                self.uow.save(user)
            return changed

        changed = self.uow.retry(save)
        if changed:
            log.info("user.admin_granted" if grant else "user.admin_revoked", user_id=str(user_id))
        return changed
