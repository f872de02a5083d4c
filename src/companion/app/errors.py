"""Errors of the application layer (not decided by the domain), mapped to HTTP in one place.

Each carries a stable `code`; `companion.app.api.errors` turns them into the
error shape of API.md and the CLI into one line and a non-zero exit status.
"""

from __future__ import annotations

from companion.app.settings import SettingsError


class ApplicationError(Exception):
    """Base of the application's own errors; `code` is stable, `detail` is for people."""

    code = "application_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConcurrencyConflict(ApplicationError):
    """Another writer kept winning the same aggregate version; the caller may retry. (409)"""

    code = "concurrency_conflict"


class ConversationBusy(ApplicationError):
    """Too many turns of one conversation already wait their turn here; retry soon. (429)"""

    code = "conversation_busy"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class TooManyAttempts(ApplicationError):
    """Too many failed logins for an account or from an address; retry after `retry_after`. (429)"""

    code = "too_many_attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class StoreUnavailable(ApplicationError):
    """The event store (or its read models) cannot be reached now; retry later. (503)"""

    code = "store_unavailable"
    retry_after = 2


class StoreUnreadable(ApplicationError):
    """A stored event cannot be decrypted or decoded: an operator's error, never the user's. (503)

    Usually the process runs with another COMPANION_CIPHER_KEY than the one the
    store was written with.
    """

    code = "store_unreadable"
    retry_after = 30

    def __init__(self, detail: str, *, position: int | None = None) -> None:
        super().__init__(detail)
        self.position = position


class StoreKeyMismatch(SettingsError):
    """The cipher settings do not match the store's: the process must not start."""


class StoreMissing(SettingsError):
    """A command that only reads was pointed at a store that does not exist."""
