"""Reading the event log for people: filtered, attributed, decrypted, redacted, as JSON or CSV.

Three things make an export usable by analysts:

- the *catalogue*: every event type of the domain's aggregates, found by walking
  their classes, so that a type filter rejects typos and CSV knows its columns;
- *attribution*: each stream (aggregate) belongs to a user and maybe a character,
  learnt from the creation events of the whole log, so that any event, however
  filtered, says whose it is;
- *redaction*: personal values removed wherever they sit in an event's state,
  every id replaced by a pseudonym keyed for this one export.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from functools import cache
from typing import IO, Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, CanInitAggregate, DomainEvent
from eventsourcing.persistence import MapperDeserialisationError, Notification
from eventsourcing.utils import get_topic

from companion.app.errors import StoreUnreadable
from companion.domain.characters import Character
from companion.domain.conversations import Conversation
from companion.domain.errors import InvalidInput
from companion.domain.identity import email_claim_id, normalise_email
from companion.domain.users import EmailClaim, User

PAGE_SIZE = 1000
# The envelope of every event; whatever else it holds is its state.
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})
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

# -- the catalogue -----------------------------------------------------------------------

# Every aggregate of the domain: a new aggregate's events join the catalogue here.
AGGREGATES: tuple[type[Aggregate], ...] = (User, EmailClaim, Character, Conversation)


@dataclass(frozen=True)
class EventType:
    """One event class of the domain, under the names a person may give it."""

    topic: str
    qualname: str  # Conversation.UserMessageSent
    fields: tuple[str, ...]  # of its state, in declaration order

    @property
    def name(self) -> str:
        return self.qualname.rpartition(".")[2]


class UnknownEventType(ValueError):
    """A --type that names no event of the catalogue."""

    def __init__(self, name: str, known: Sequence[EventType]) -> None:
        super().__init__(
            f"no event type {name!r}; known types: {', '.join(t.qualname for t in known)}"
        )


def events_of(aggregate: type[Aggregate]) -> list[type[DomainEvent]]:
    """The event classes an aggregate stores, in the order its class declares them.

    The library gives every aggregate a base `Event` class and a default
    `Created` class; neither is stored when the aggregate declares its own.
    """
    nested = [
        value
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, DomainEvent)
    ]
    concrete = [c for c in nested if not any(o is not c and issubclass(o, c) for o in nested)]
    creations = [c for c in concrete if issubclass(c, CanInitAggregate)]
    default_created = [
        c
        for c in creations
        if c.__name__ == "Created" and not _own_fields(c) and len(creations) > 1
    ]
    return [c for c in concrete if c not in default_created]


def _own_fields(event_class: type[DomainEvent]) -> tuple[str, ...]:
    library = {f.name for f in dataclasses.fields(Aggregate.Created)}
    return tuple(
        f.name
        for f in dataclasses.fields(event_class)
        if f.name not in library and f.name not in ENVELOPE
    )


@cache
def catalogue() -> tuple[EventType, ...]:
    """Every event type of the domain's aggregates."""
    return tuple(
        EventType(
            topic=get_topic(event_class),
            qualname=event_class.__qualname__,
            fields=tuple(f.name for f in dataclasses.fields(event_class) if f.name not in ENVELOPE),
        )
        for aggregate in AGGREGATES
        for event_class in events_of(aggregate)
    )


def event_types(names: Iterable[str]) -> tuple[EventType, ...]:
    """The catalogue's types for class names, qualified names or topics (any mix)."""
    chosen: list[EventType] = []
    for name in names:
        matches = [t for t in catalogue() if name in (t.topic, t.qualname, t.name)]
        if not matches:
            raise UnknownEventType(name, catalogue())
        chosen.extend(m for m in matches if m not in chosen)
    return tuple(chosen)


# -- attribution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Whose a stream is: a user, maybe one of their characters; `email` when it names one."""

    user_id: UUID | None = None
    character_id: UUID | None = None
    email: str | None = None


NOBODY = Owner()

# How each creation event attributes its stream; a new aggregate adds one line.
ATTRIBUTION: dict[type[DomainEvent], Callable[[Any], Owner]] = {
    User.Registered: lambda e: Owner(user_id=e.originator_id, email=e.email),
    EmailClaim.Claimed: lambda e: Owner(user_id=e.user_id, email=e.email),
    Character.Created: lambda e: Owner(user_id=e.owner_id, character_id=e.originator_id),
    Conversation.Started: lambda e: Owner(user_id=e.user_id, character_id=e.character_id),
}


class UnknownUser(ValueError):
    """A --user that is neither the email nor the id of a user of the log."""


@dataclass
class Attributions:
    """The owner of every stream of the log, from its creation events."""

    streams: dict[UUID | str, Owner] = field(default_factory=dict)

    @classmethod
    def from_log(cls, application: Application[Any]) -> Attributions:
        attribute = {get_topic(c): how for c, how in ATTRIBUTION.items()}
        attributions = cls()
        for notification, event in read_events(
            application, EventFilter(topics=tuple(attribute)), decode=True
        ):
            attributions.streams[notification.originator_id] = attribute[notification.topic](event)
        return attributions

    def of(self, stream: UUID | str) -> Owner:
        return self.streams.get(stream, NOBODY)

    def user(self, email_or_id: str) -> UUID:
        """The id of the user with this email or id, as the log knows them."""
        try:
            user_id = UUID(email_or_id)
        except ValueError:
            return self._user_by_email(email_or_id)
        if user_id in self.streams and self.streams[user_id].user_id == user_id:
            return user_id
        raise UnknownUser(f"no user with id {email_or_id} in the event log")

    def _user_by_email(self, email: str) -> UUID:
        try:
            normalised = normalise_email(email)
        except InvalidInput:
            raise UnknownUser(f"{email!r} is neither an email nor a user id") from None
        claim = self.of(email_claim_id(normalised))
        if claim.user_id is not None:
            return claim.user_id
        for owner in self.streams.values():
            if owner.email == normalised and owner.user_id is not None:
                return owner.user_id
        raise UnknownUser(f"no user with email {normalised} in the event log")


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


def read_events(
    application: Application[Any],
    wanted: EventFilter,
    *,
    decode: bool,
    attributions: Attributions | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[Notification, Any]]:
    """The notifications up to the log's current head that pass the filter.

    Each comes with its domain event when `decode` is set (None otherwise). Type
    and owner filters read only the stored topic and stream; the time filter
    needs the decoded, decrypted event. `on_progress` gets (position, head) after
    each page.
    """
    if wanted.by_owner and attributions is None:
        raise ValueError("filtering by user or character needs the log's attributions")
    recorder, mapper = application.recorder, application.mapper
    head = recorder.max_notification_id() or 0
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


# -- redaction -------------------------------------------------------------------------------

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
            record["state"] = self.redaction.state(state)
        return record

    def state_columns(self, types: Sequence[EventType]) -> tuple[str, ...]:
        """The CSV columns of the states of these types, in catalogue order."""
        columns: list[str] = []
        for event_type in types:
            for name in event_type.fields:
                if name in SECRET_FIELDS:
                    continue
                names = (name,) if self.redaction is None else self.redaction.field_names(name)
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
