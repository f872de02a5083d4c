"""The chat turn's admission against the message limits, on a real store.

The tier comes from the turn's own read of the store: a tier changed by another
API process counts for the very next message here, though this process keeps
the user in its cache. A retry that races its original past that read is
counted by whichever turn stores the message, once.
"""

from __future__ import annotations

import threading
import time
from uuid import UUID, uuid4

import pytest

from companion.adapters.rate_limit import Admission, Allowance, Day, MemoryMessageLimiter, Ticket
from companion.app.bootstrap import Companion
from companion.app.chat import Chat
from companion.app.chat_results import ChatTurn
from companion.app.conversation_queue import ConversationQueue
from companion.app.message_limits import MessageLimits, RateLimited
from companion.domain.characters import Persona
from companion.domain.identity import conversation_id
from companion.domain.payments import GatewayEvent, SubscriptionState
from tests.support.companions import Companions
from tests.support.meeting import WAIT, Meeting
from tests.support.personas import HANA

START = 1_790_000_000.0


def _pair(app: Companion) -> tuple[UUID, UUID]:
    user_id = app.accounts.register(
        email=f"{uuid4().hex[:8]}@example.com", password="0123456789ab", name="S", nickname="S"
    )
    character_id, _ = app.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return user_id, character_id


def _end_subscription(companion: Companion, user_id: UUID) -> None:
    """The provider says the paid period is over: the user is free again."""
    subscription = companion.payments.subscription(user_id)
    assert subscription is not None
    assert subscription.provider_subscription_id is not None
    ended = SubscriptionState(
        subscription_id=subscription.provider_subscription_id,
        status="canceled",
        tier=subscription.tier,
    )
    companion.payments.apply(
        GatewayEvent(
            provider="sandbox",
            event_id=f"evt_{uuid4().hex}",
            kind="subscription_deleted",
            type="customer.subscription.deleted",
            created=int(time.time()) + 1,
            user_id=user_id,
            subscription=ended,
            sandbox=True,
        )
    )


@pytest.mark.postgres
@pytest.mark.parametrize("changed_by", ["this process", "another process"])
def test_a_new_tier_counts_for_the_next_message(
    postgres_companions: Companions, changed_by: str
) -> None:
    there = postgres_companions()
    here = (
        there
        if changed_by == "this process"
        else postgres_companions(database_url=there.settings.database_url)
    )
    limits = MessageLimits(here.accounts, MemoryMessageLimiter(clock=lambda: START))
    user_id, character_id = _pair(there)

    def send(text: str) -> None:
        here.chat.send_message(user_id=user_id, character_id=character_id, text=text, limits=limits)

    for n in range(10):  # free: ten a minute; this process now holds the user in its cache
        send(f"free {n}")
    with pytest.raises(RateLimited):
        send("one too many")

    there.payments.subscribe(user_id=user_id, tier="premium")
    for n in range(10):  # premium: thirty a minute, from the next message on
        send(f"premium {n}")

    _end_subscription(there, user_id)
    with pytest.raises(RateLimited):  # twenty this minute: room for premium, not for free
        send("free again")


class _Racing:
    """A limiter that, while it admits the retry, lets the original turn run (in a thread):
    to its end, or until it waits in the model for the retry to get there too."""

    def __init__(self, original: threading.Thread, in_the_model: threading.Event | None) -> None:
        self.counted = MemoryMessageLimiter(clock=lambda: START)
        self.original, self.in_the_model = original, in_the_model
        self.admitted = 0

    def admit(self, user: str, allowance: Allowance, day: Day) -> Admission:
        self.admitted += 1
        if self.admitted == 1:  # the retry: the original runs now, past the retry's read
            self.original.start()
            if self.in_the_model is None:
                self.original.join(WAIT)
            else:
                assert self.in_the_model.wait(WAIT)
        return self.counted.admit(user, allowance, day)

    def withdraw(self, ticket: Ticket) -> None:
        self.counted.withdraw(ticket)


@pytest.mark.parametrize("backend", ["memory", "postgres"])
@pytest.mark.parametrize("original", ["replied", "awaiting its reply"])
def test_a_retry_racing_its_original_past_its_read_is_counted_once(
    request: pytest.FixtureRequest, backend: str, original: str
) -> None:
    companions: Companions = request.getfixturevalue(f"{backend}_companions")
    app = companions()
    user_id, character_id = _pair(app)
    turns: list[ChatTurn] = []
    # The original is another process's turn (its own line of turns, the same store):
    # in one process the retry would wait in line for the original to end.
    other_process = Chat(app.uow, app.model_call, app.feelings, app.memories, ConversationQueue())

    def send(chat: Chat) -> None:
        turns.append(
            chat.send_message(
                user_id=user_id,
                character_id=character_id,
                text="are you there?",
                client_message_id="m-1",
                limits=limits,
            )
        )

    # The retry has read the store (no message m-1 yet) when the original runs:
    # the original stores the message, and the retry's save finds it there.
    first = threading.Thread(target=send, args=(other_process,))
    meeting = None
    if original == "awaiting its reply":
        meeting = Meeting(app.model_call.chat_model)
        app.model_call.chat_model = meeting
    racing = _Racing(first, None if meeting is None else meeting.first)
    limits = MessageLimits(app.accounts, racing, per_minute=2)
    send(app.chat)
    first.join(WAIT)

    assert len(turns) == 2
    assert turns[0].user_message_id == turns[1].user_message_id
    assert turns[0].reply_text == turns[1].reply_text
    events = list(app.uow.stream(conversation_id(user_id, character_id)))
    assert len(events) == 3  # created, the message once, its reply once
    # One of the two messages a minute is left.
    app.chat.send_message(user_id=user_id, character_id=character_id, text="second", limits=limits)
    with pytest.raises(RateLimited):
        app.chat.send_message(
            user_id=user_id, character_id=character_id, text="third", limits=limits
        )


def test_a_retry_of_a_stored_message_is_not_counted_even_at_the_limit(
    memory_companions: Companions,
) -> None:
    app = memory_companions()
    limits = MessageLimits(app.accounts, MemoryMessageLimiter(clock=lambda: START), per_minute=1)
    user_id, character_id = _pair(app)
    sent = {"user_id": user_id, "character_id": character_id, "text": "hi", "limits": limits}
    first = app.chat.send_message(**sent, client_message_id="m-1")  # type: ignore[arg-type]
    again = app.chat.send_message(**sent, client_message_id="m-1")  # type: ignore[arg-type]
    assert (again.user_message_id, again.reply_text) == (first.user_message_id, first.reply_text)
    with pytest.raises(RateLimited):
        app.chat.send_message(**sent, client_message_id="m-2")  # type: ignore[arg-type]
