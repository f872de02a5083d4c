"""`companion users …`: accounts as an operator sees them; here, the admin role."""

from __future__ import annotations

from typing import Annotated

import typer

from companion.app.cli.common import FAILURE, DatabaseUrl, fail, opened, out

users_app = typer.Typer(help="Accounts: the admin role.", no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="the account's email")]


def _change(ctx: typer.Context, email: str, database_url: str | None, *, grant: bool) -> None:
    from companion.app.admins import Admins
    from companion.domain.errors import DomainError

    with opened(ctx, database_url, create_store=False) as companion:
        admins = Admins(companion.uow)
        try:
            changed = admins.grant(email) if grant else admins.revoke(email)
        except DomainError as error:
            fail(f"{email}: {error.detail}", code=FAILURE)
    role = "an admin" if grant else "not an admin"
    out.print(f"{email} is {role}" + ("" if changed else " (unchanged)"), highlight=False)


@users_app.command("grant-admin")
def grant_admin(ctx: typer.Context, email: Email, database_url: DatabaseUrl = None) -> None:
    """Let the account read the admin routes (GET /api/v1/admin/kpis)."""
    _change(ctx, email, database_url, grant=True)


@users_app.command("revoke-admin")
def revoke_admin(ctx: typer.Context, email: Email, database_url: DatabaseUrl = None) -> None:
    """Make the account an ordinary one again."""
    _change(ctx, email, database_url, grant=False)
