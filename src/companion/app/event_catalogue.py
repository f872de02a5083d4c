"""What the event log can hold and whose each stream is.

- the *catalogue*: every event type of the domain's aggregates, found by walking
  their classes, so that a type filter rejects typos and CSV knows its columns;
- *attribution*: each stream (aggregate) belongs to a user and maybe a character,
  learnt from the creation events of the whole log, so that any event, however
  filtered, says whose it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, CanInitAggregate, DomainEvent
from eventsourcing.utils import get_topic

from companion.domain.catalogue import CatalogItem
from companion.domain.characters import Character
from companion.domain.conversations import Conversation
from companion.domain.daily_life import DailyLife
from companion.domain.emotion import EmotionState
from companion.domain.errors import InvalidInput
from companion.domain.identity import email_claim_id, normalise_email
from companion.domain.memory import MemoryBook
from companion.domain.payments import Payment, ProviderEvent
from companion.domain.sessions import Session
from companion.domain.subscription import Subscription, SubscriptionOrigin
from companion.domain.users import EmailClaim, User
from companion.domain.wallet import Wallet

# The envelope of every event; whatever else it holds is its state.
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})

# -- the catalogue -----------------------------------------------------------------------

# Every aggregate of the domain: a new aggregate's events join the catalogue here.
AGGREGATES: tuple[type[Aggregate], ...] = (
    User,
    EmailClaim,
    Character,
    Conversation,
    EmotionState,
    MemoryBook,
    DailyLife,
    Wallet,
    CatalogItem,
    Payment,
    ProviderEvent,
    Subscription,
    SubscriptionOrigin,
    Session,
)


@dataclass(frozen=True)
class EventType:
    """One event class of the domain, under the names a person may give it."""

    topic: str
    qualname: str  # Conversation.UserMessageSent
    fields: tuple[str, ...]  # of its state, in declaration order
    event_class: type[DomainEvent] = field(compare=False, repr=False)

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
            event_class=event_class,
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
    EmotionState.Started: lambda e: Owner(user_id=e.user_id, character_id=e.character_id),
    MemoryBook.Opened: lambda e: Owner(user_id=e.user_id, character_id=e.character_id),
    DailyLife.DailyEventOccurred: lambda e: Owner(user_id=e.user_id, character_id=e.character_id),
    Wallet.Opened: lambda e: Owner(user_id=e.user_id),
    Payment.Created: lambda e: Owner(user_id=e.user_id),
    Subscription.Opened: lambda e: Owner(user_id=e.user_id),
    SubscriptionOrigin.Recorded: lambda e: Owner(user_id=e.user_id),
    Session.Started: lambda e: Owner(user_id=e.user_id),
}
ATTRIBUTION_BY_TOPIC = {get_topic(c): how for c, how in ATTRIBUTION.items()}


class UnknownUser(ValueError):
    """A --user that is neither the email nor the id of a user of the log."""


@dataclass
class Attributions:
    """The owner of every stream of the log, from its creation events."""

    streams: dict[UUID | str, Owner] = field(default_factory=dict)

    def learn(self, topic: str, stream: UUID | str, event: Any) -> None:
        """Record whose `stream` is from its creation event (of a topic of ATTRIBUTION)."""
        self.streams[stream] = ATTRIBUTION_BY_TOPIC[topic](event)

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
