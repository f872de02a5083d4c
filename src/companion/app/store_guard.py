"""What keeps a process from misreading or miswriting the event store.

The store records, once, how its events are encoded: whether they are
encrypted, a check value of the key (an HMAC of a fixed label under the key:
it identifies the key without revealing it) and whether they are compressed.
Every entry point compares that record with its own settings before it
touches the log, and refuses to start on a mismatch, so a process with a
missing or wrong COMPANION_CIPHER_KEY can never append events the others
cannot read.

A stored event that still fails to decode is reported as `StoreUnreadable`
with its position: an operator's problem, never a wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

from companion.app.errors import StoreKeyMismatch, StoreUnreadable

log = structlog.get_logger(__name__)
MARKER_TABLE = "companion_store"
KEY_CHECK_LABEL = b"companion event store key check v1"


class GuardedMapper(Mapper[Any]):
    """The library's mapper; an event that cannot be decoded raises StoreUnreadable."""

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        try:
            return super().to_domain_event(stored_event)
        except MapperDeserialisationError as error:
            position = getattr(stored_event, "id", None)
            log.error(
                "store.unreadable_event",
                position=position,
                originator_id=str(stored_event.originator_id),
                originator_version=stored_event.originator_version,
                topic=stored_event.topic,
            )
            raise StoreUnreadable(
                f"the event of {stored_event.originator_id} version"
                f" {stored_event.originator_version}"
                + (f" at position {position}" if position is not None else "")
                + " cannot be decoded: is COMPANION_CIPHER_KEY the key it was written with?",
                position=position,
            ) from error


@dataclass(frozen=True)
class Encoding:
    """How a store's events are encoded, as recorded in the store."""

    encrypted: bool
    key_check: str
    compressed: bool

    @classmethod
    def of(cls, env: dict[str, str]) -> Encoding:
        key = env.get("CIPHER_KEY")
        check = ""
        if key:
            digest = hmac.new(base64.b64decode(key), KEY_CHECK_LABEL, hashlib.sha256)
            check = digest.hexdigest()[:32]
        return cls(bool(key), check, bool(env.get("COMPRESSOR_TOPIC")))

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("encrypted", "yes" if self.encrypted else "no"),
            ("key_check", self.key_check),
            ("compressed", "yes" if self.compressed else "no"),
        ]

    @classmethod
    def from_rows(cls, rows: dict[str, str]) -> Encoding:
        return cls(
            rows.get("encrypted") == "yes",
            rows.get("key_check", ""),
            rows.get("compressed") == "yes",
        )


def mismatch(recorded: Encoding, configured: Encoding) -> str | None:
    """One line saying which setting does not fit the store, or None when all fit."""
    if recorded.encrypted and not configured.encrypted:
        return (
            "the event store is encrypted: set COMPANION_CIPHER_KEY to the key it was written with"
        )
    if not recorded.encrypted and configured.encrypted:
        return (
            "the event store is not encrypted, but COMPANION_CIPHER_KEY is set:"
            " unset it to use this store"
        )
    if recorded.key_check != configured.key_check:
        return "COMPANION_CIPHER_KEY is not the key this event store was written with"
    if recorded.compressed != configured.compressed:
        state = "compressed" if recorded.compressed else "not compressed"
        return (
            f"the event store's events are {state}: set COMPANION_COMPRESS_EVENTS"
            f" to {'true' if recorded.compressed else 'false'}"
        )
    return None


def verify_store_encoding(application: Application[Any], env: dict[str, str]) -> None:
    """Compare the store's recorded encoding with this process's; record it on a new store.

    A store written before the record existed is judged by decoding its first
    event with this process's settings. Raises StoreKeyMismatch, having written
    nothing, when the settings do not fit.
    """
    datastore = getattr(application.recorder, "datastore", None)
    if not isinstance(datastore, SQLiteDatastore | PostgresDatastore):
        return  # an in-memory store lives and dies with this process
    configured = Encoding.of(env)
    recorded = _read(datastore)
    if recorded is None:
        first = application.recorder.select_notifications(1, limit=1)
        if first:
            try:
                application.mapper.to_domain_event(first[0])
            except StoreUnreadable:
                raise StoreKeyMismatch(
                    "the events in this store cannot be decoded with the configured"
                    " COMPANION_CIPHER_KEY and COMPANION_COMPRESS_EVENTS"
                ) from None
        _record(datastore, configured)
        recorded = _read(datastore)  # another process may have recorded first
        assert recorded is not None
    problem = mismatch(recorded, configured)
    if problem is not None:
        raise StoreKeyMismatch(problem)


def _read(datastore: SQLiteDatastore | PostgresDatastore) -> Encoding | None:
    with datastore.transaction(commit=True) as cursor:
        if isinstance(datastore, PostgresDatastore):
            table = Identifier(datastore.schema, MARKER_TABLE)
            cursor.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                ).format(table)
            )
            cursor.execute(SQL("SELECT key, value FROM {}").format(table))
            rows = {row["key"]: row["value"] for row in cursor.fetchall()}
        else:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE}"
                " (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            cursor.execute(f"SELECT key, value FROM {MARKER_TABLE}")
            rows = {str(row[0]): str(row[1]) for row in cursor.fetchall()}  # type: ignore[index]
    return Encoding.from_rows(rows) if rows else None


def _record(datastore: SQLiteDatastore | PostgresDatastore, encoding: Encoding) -> None:
    with datastore.transaction(commit=True) as cursor:
        for key, value in encoding.rows():
            if isinstance(datastore, PostgresDatastore):
                cursor.execute(
                    SQL(
                        "INSERT INTO {} (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING"
                    ).format(Identifier(datastore.schema, MARKER_TABLE)),
                    (key, value),
                )
            else:
                cursor.execute(
                    f"INSERT OR IGNORE INTO {MARKER_TABLE} (key, value) VALUES (?, ?)",
                    (key, value),
                )
