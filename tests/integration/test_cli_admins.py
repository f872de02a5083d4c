"""`companion users grant-admin | revoke-admin`: the admin role, an event on the User."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from tests.support.cli import cli, ok, open_companion, seed


@pytest.mark.usefixtures("cli_environment")
def test_the_admin_role_is_granted_and_revoked_by_email(sqlite_url: str, tmp_path: Path) -> None:
    seeded = seed(sqlite_url, tmp_path)

    granted = ok(sqlite_url, "users", "grant-admin", "AIKO@example.com")
    again = ok(sqlite_url, "users", "grant-admin", "aiko@example.com")
    with closing(open_companion(sqlite_url, tmp_path)) as companion:
        companion.runner.run_once()
        admin_then = companion.read_models.admins.is_admin(companion.views, seeded.user_id)
    revoked = ok(sqlite_url, "users", "revoke-admin", "aiko@example.com")
    with closing(open_companion(sqlite_url, tmp_path)) as companion:
        companion.runner.run_once()
        admin_now = companion.read_models.admins.is_admin(companion.views, seeded.user_id)
    types = ok(sqlite_url, "events", "count", "--type", "User.AdminGranted")

    assert granted.stdout.strip() == "AIKO@example.com is an admin"
    assert again.stdout.strip() == "aiko@example.com is an admin (unchanged)"
    assert revoked.stdout.strip() == "aiko@example.com is not an admin"
    assert (admin_then, admin_now) == (True, False)
    assert types.stdout.strip() == "1"


@pytest.mark.usefixtures("cli_environment")
def test_an_unknown_email_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)

    refused = cli(sqlite_url, "users", "grant-admin", "nobody@example.com")

    assert refused.exit_code == 1
    assert "nobody@example.com: no account with this email" in refused.stderr
