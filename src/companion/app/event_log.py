"""Reading the event log for people: filtered, attributed, decrypted, redacted, as JSON or CSV.

What the log can hold and whose each stream is come from `event_catalogue`; what
a redacted export leaves out, from `redaction`. This module reads the log up to
a head and writes the records.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import IO, Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import MapperDeserialisationError, Notification

from companion.app.errors import StoreUnreadable
from companion.app.event_catalogue import (
    ATTRIBUTION_BY_TOPIC,
    ENVELOPE,
    Attributions,
    EventType,
    Owner,
    catalogue,
)
from companion.app.redaction import Redaction

PAGE_SIZE = 1000
# Secrets stay in the log (login needs them) but never leave it through an export.
SECRET_FIELDS = frozenset({"password_hash"})
RECORD_FIELDS = (
    "position",
    "topic",
    "originator_id",
    "originator_version",
    "timestamp",
    "user_id",
    "character_id",
)

# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """Which events to read: from `since` (inclusive) to `until` (exclusive), with a topic
    among `topics` (any when empty), of one user's or one character's streams."""

    since: datetime | None = None
    until: datetime | None = None
    topics: tuple[str, ...] = ()
    user_id: UUID | None = None
    character_id: UUID | None = None

    @property
    def by_time(self) -> bool:
        return self.since is not None or self.until is not None

    @property
    def by_owner(self) -> bool:
        return self.user_id is not None or self.character_id is not None

    def wants_owner(self, owner: Owner) -> bool:
        return (self.user_id is None or owner.user_id == self.user_id) and (
            self.character_id is None or owner.character_id == self.character_id
        )

    def wants_time(self, timestamp: datetime | None) -> bool:
        if timestamp is None:
            return not self.by_time
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        return (self.since is None or timestamp >= self.since) and (
            self.until is None or timestamp < self.until
        )


def log_head(application: Application[Any]) -> int:
    """The position of the last event of the log (0 when empty).

    Every pass of one command reads up to the same head: what is appended
    meanwhile is left for the next command, never read by one pass and not another.
    """
    return application.recorder.max_notification_id() or 0


def read_events(
    application: Application[Any],
    wanted: EventFilter,
    *,
    head: int,
    decode: bool,
    attributions: Attributions | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[Notification, Any]]:
    """The notifications up to `head` (see `log_head`) that pass the filter.

    Each comes with its domain event when `decode` is set (None otherwise). Type
    and owner filters read only the stored topic and stream; the time filter
    needs the decoded, decrypted event. `on_progress` gets (position, head) after
    each page.
    """
    if wanted.by_owner and attributions is None:
        raise ValueError("filtering by user or character needs the log's attributions")
    recorder, mapper = application.recorder, application.mapper
    start = 1
    while start <= head:
        page = recorder.select_notifications(
            start, limit=PAGE_SIZE, stop=head, topics=wanted.topics
        )
        for notification in page:
            if attributions is not None and not wanted.wants_owner(
                attributions.of(notification.originator_id)
            ):
                continue
            event = None
            if decode or wanted.by_time:
                try:
                    event = mapper.to_domain_event(notification)
                except MapperDeserialisationError as error:
                    raise StoreUnreadable(
                        f"cannot decode the event at position {notification.id}: {error}",
                        position=notification.id,
                    ) from error
                if not wanted.wants_time(getattr(event, "timestamp", None)):
                    continue
            yield notification, event
        if on_progress is not None:
            on_progress(page[-1].id if len(page) == PAGE_SIZE else head, head)
        if len(page) < PAGE_SIZE:
            break
        start = page[-1].id + 1


def read_attributions(application: Application[Any], *, head: int) -> Attributions:
    """The owner of every stream, from the creation events of the log up to `head`."""
    attributions = Attributions()
    wanted = EventFilter(topics=tuple(ATTRIBUTION_BY_TOPIC))
    for notification, event in read_events(application, wanted, head=head, decode=True):
        attributions.learn(notification.topic, notification.originator_id, event)
    return attributions


# -- export ----------------------------------------------------------------------------------


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


@dataclass
class Export:
    """Turns decoded events into records: attributed and, when asked, redacted."""

    attributions: Attributions
    redaction: Redaction | None = None

    def record(self, notification: Notification, event: Any) -> dict[str, Any]:
        """One exported event: where it is in the log, what it is, whose it is, its state."""
        timestamp = getattr(event, "timestamp", None)
        owner = self.attributions.of(notification.originator_id)
        state = {
            k: "[redacted]" if k in SECRET_FIELDS else v
            for k, v in vars(event).items()
            if k not in ENVELOPE
        }
        record = {
            "position": notification.id,
            "topic": notification.topic,
            "originator_id": notification.originator_id,
            "originator_version": notification.originator_version,
            "timestamp": timestamp.isoformat() if isinstance(timestamp, datetime) else None,
            "user_id": owner.user_id,
            "character_id": owner.character_id,
            "state": state,
        }
        if self.redaction is not None:
            for name in ("originator_id", "user_id", "character_id"):
                record[name] = self.redaction.value(record[name])
            # A secret leaves not even as its placeholder's length.
            record["state"] = self.redaction.state(
                {k: v for k, v in state.items() if k not in SECRET_FIELDS}
            )
        return record

    def state_columns(self, types: Sequence[EventType]) -> tuple[str, ...]:
        """The CSV columns of the states of these types, in catalogue order."""
        columns: list[str] = []
        for event_type in types:
            if self.redaction is None:
                names = [n for n in event_type.fields if n not in SECRET_FIELDS]
            else:
                names = list(self.redaction.columns(event_type))
            columns.extend(n for n in names if n not in columns)
        return tuple(columns)

    def write(
        self,
        file: IO[str],
        format_: ExportFormat,
        events: Iterable[tuple[Notification, Any]],
        types: Sequence[EventType] = (),
    ) -> int:
        """Write events as JSON lines or CSV rows; returns how many.

        CSV has a column per top-level state field of `types` (the whole
        catalogue when empty), nested values as JSON; a state field that clashes
        with a record column is prefixed ``state_``, and what no column holds (an
        event type the catalogue does not know) goes to ``other`` as JSON.
        """
        if format_ is ExportFormat.jsonl:
            written = 0
            for notification, event in events:
                file.write(to_json(self.record(notification, event)) + "\n")
                written += 1
            file.flush()
            return written
        fields = self.state_columns(types or catalogue())
        columns = {n: f"state_{n}" if n in RECORD_FIELDS else n for n in fields}
        writer = csv.writer(file)
        writer.writerow([*RECORD_FIELDS, *columns.values(), "other"])
        written = 0
        for notification, event in events:
            record = self.record(notification, event)
            state = record["state"]
            other = {k: v for k, v in state.items() if k not in columns}
            writer.writerow(
                [
                    *(cell(record[name]) for name in RECORD_FIELDS),
                    *(cell(state.get(name)) for name in columns),
                    to_json(other) if other else "",
                ]
            )
            written += 1
        file.flush()
        return written


def cell(value: Any) -> str:
    """A CSV cell: text as is, nothing empty, everything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, UUID):
        return str(value)
    return to_json(value)


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
