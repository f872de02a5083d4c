"""Redaction of exported events: personal values removed, every id pseudonymised."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from uuid import UUID

# Fields whose values are personal wherever they sit (top level or nested).
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "password_hash",
        "name",
        "nickname",
        "backstory",
        "occupation",
        "hobbies",
        "client_message_id",
        "audio_ref",
    }
)
# Written by people: analysts keep their length.
WRITTEN_FIELDS = frozenset({"text", "transcript"})
# Profile changes keep which fields changed, not to what.
CHANGES_FIELD = "changes"


class Redaction:
    """Removes personal values from exported events and pseudonymises every id.

    A pseudonym is an HMAC-SHA256 of the id under a key made for this one
    export, shaped as a UUID: the same id gets the same pseudonym within an
    export (so joins still work) and another one in the next export (so
    exports cannot be joined with each other or with the store).
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def pseudonym(self, value: UUID) -> UUID:
        digest = hmac.new(self._key, value.bytes, hashlib.sha256).digest()
        return UUID(bytes=digest[:16], version=4)

    def field_names(self, name: str) -> tuple[str, ...]:
        """What a state field becomes in a redacted export: nothing, itself or a summary."""
        if name in PERSONAL_FIELDS:
            return ()
        if name in WRITTEN_FIELDS:
            return (f"{name}_chars",)
        if name == CHANGES_FIELD:
            return ("changed_fields",)
        return (name,)

    def state(self, state: Mapping[str, Any]) -> dict[str, Any]:
        redacted: dict[str, Any] = {}
        for name, value in state.items():
            if name in PERSONAL_FIELDS:
                continue
            if name in WRITTEN_FIELDS:
                redacted[f"{name}_chars"] = len(value) if isinstance(value, str) else None
            elif name == CHANGES_FIELD and isinstance(value, Mapping):
                redacted["changed_fields"] = sorted(value)
            else:
                redacted[name] = self.value(value)
        return redacted

    def value(self, value: Any) -> Any:
        if isinstance(value, UUID):
            return self.pseudonym(value)
        if isinstance(value, str):
            return self.pseudonym(parsed) if (parsed := _as_uuid(value)) else value
        if isinstance(value, Mapping):
            return self.state(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.state(dataclasses.asdict(value))
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(item) for item in value]
        return value


def _as_uuid(text: str) -> UUID | None:
    if len(text) != 36:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None
