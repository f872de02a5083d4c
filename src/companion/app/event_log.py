"""Reading the event log for people: filtered by time and type, decrypted, as JSON or CSV."""

from __future__ import annotations

import base64
import csv
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import IO, Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import MapperDeserialisationError, Notification

PAGE_SIZE = 1000
# The envelope of every event; whatever else it holds is its state.
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})
# Secrets stay in the log (login needs them) but never leave it through an export.
SECRET_FIELDS = frozenset({"password_hash"})
COLUMNS = ("position", "topic", "originator_id", "originator_version", "timestamp", "state")


class UnreadableEvent(Exception):
    """A stored event that cannot be decrypted or decoded (usually: the wrong cipher key)."""


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@dataclass(frozen=True)
class EventFilter:
    """Which events to read: from `since` (inclusive) to `until` (exclusive), of `types`.

    A type is an event's class name (``UserMessageSent``), its qualified name
    (``Conversation.UserMessageSent``) or its full topic.
    """

    since: datetime | None = None
    until: datetime | None = None
    types: tuple[str, ...] = ()

    @property
    def by_time(self) -> bool:
        return self.since is not None or self.until is not None

    def topics(self) -> list[str]:
        """Topics the database can filter on: only when every type is a full topic."""
        return list(self.types) if self.types and all(":" in t for t in self.types) else []

    def wants_topic(self, topic: str) -> bool:
        if not self.types:
            return True
        qualname = topic.rpartition(":")[2]
        return not {topic, qualname, qualname.rpartition(".")[2]}.isdisjoint(self.types)

    def wants_time(self, timestamp: datetime | None) -> bool:
        if timestamp is None:
            return not self.by_time
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        return (self.since is None or timestamp >= self.since) and (
            self.until is None or timestamp < self.until
        )


def read_events(
    application: Application[Any],
    wanted: EventFilter,
    *,
    decode: bool,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[Notification, Any]]:
    """The notifications up to the log's current head that pass the filter.

    Each comes with its domain event when `decode` is set (None otherwise). The
    type filter reads only the stored topic; the time filter needs the decoded,
    decrypted event. `on_progress` gets (position reached, head) after each page.
    """
    recorder, mapper = application.recorder, application.mapper
    head = recorder.max_notification_id() or 0
    topics, start = wanted.topics(), 1
    while start <= head:
        page = recorder.select_notifications(start, limit=PAGE_SIZE, stop=head, topics=topics)
        for notification in page:
            if not wanted.wants_topic(notification.topic):
                continue
            event = None
            if decode or wanted.by_time:
                try:
                    event = mapper.to_domain_event(notification)
                except MapperDeserialisationError as error:
                    raise UnreadableEvent(
                        f"cannot decode the event at position {notification.id}: {error}"
                    ) from error
                if not wanted.wants_time(getattr(event, "timestamp", None)):
                    continue
            yield notification, event
        if on_progress is not None:
            on_progress(page[-1].id if len(page) == PAGE_SIZE else head, head)
        if len(page) < PAGE_SIZE:
            break
        start = page[-1].id + 1


def event_record(notification: Notification, event: Any) -> dict[str, Any]:
    """One exported event: where it is in the log, what it is, and its whole state."""
    timestamp = getattr(event, "timestamp", None)
    return {
        "position": notification.id,
        "topic": notification.topic,
        "originator_id": str(notification.originator_id),
        "originator_version": notification.originator_version,
        "timestamp": timestamp.isoformat() if isinstance(timestamp, datetime) else None,
        "state": {
            k: "[redacted]" if k in SECRET_FIELDS else v
            for k, v in vars(event).items()
            if k not in ENVELOPE
        },
    }


def write_events(
    file: IO[str], format_: ExportFormat, events: Iterable[tuple[Notification, Any]]
) -> int:
    """Write decoded events as JSON lines or CSV rows (state as a JSON string); returns how many."""
    written = 0
    writer = csv.writer(file) if format_ is ExportFormat.csv else None
    if writer is not None:
        writer.writerow(COLUMNS)
    for notification, event in events:
        record = event_record(notification, event)
        if writer is not None:
            writer.writerow([*(record[c] for c in COLUMNS[:-1]), to_json(record["state"])])
        else:
            file.write(to_json(record) + "\n")
        written += 1
    file.flush()
    return written


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot export a {type(value).__name__} as JSON")
