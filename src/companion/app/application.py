"""The event-sourced application: use cases that load aggregates, decide, save."""

from __future__ import annotations

import dataclasses
import functools
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4

import anyio.to_thread
import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from companion.adapters.rate_limit import Ticket
from companion.app.aggregate_cache import AggregateCache
from companion.app.errors import ConcurrencyConflict, TooManyAttempts
from companion.app.memories import (
    MemorySettings,
    MemoryWork,
    recall_and_remember,
    recall_only,
    remember_later,
)
from companion.domain.characters import Character, Persona
from companion.domain.chat import (
    ChatDelta,
    ChatDone,
    ChatModel,
    ChatReply,
    ChatRequest,
    ChatRestart,
)
from companion.domain.conversations import Conversation, check_client_message_id
from companion.domain.daily_life import DailyLife
from companion.domain.emotion import (
    Cycle,
    EmotionState,
    MoodOutcome,
    WeatherReport,
    baseline,
    local_time,
    react,
)
from companion.domain.errors import (
    CharacterNotFound,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidInput,
    MessageNotFound,
    ReplyNotLatest,
    UserNotFound,
)
from companion.domain.identity import (
    conversation_id,
    daily_life_id,
    email_claim_id,
    emotion_state_id,
    memory_book_id,
    normalise_email,
    reply_id,
)
from companion.domain.memory import MemoryBook
from companion.domain.ports import LoginThrottle, Passwords
from companion.domain.prompt import ModelParameters, PromptBudget, prompt_provenance
from companion.domain.relationship import next_bond, relationship_change
from companion.domain.replies import fallback_reply, is_japanese
from companion.domain.sentiment import NEUTRAL, Sentiment, SentimentScorer
from companion.domain.sessions import Session
from companion.domain.users import EmailClaim, User, check_password

log = structlog.get_logger(__name__)
A = TypeVar("A", bound=Aggregate)
MAX_CONFLICT_RETRIES = 20
CONFLICT_BACKOFF_SECONDS = 0.002
MAX_CONFLICT_BACKOFF_SECONDS = 0.05


@dataclass(frozen=True)
class ChatTurn:
    user_message_id: UUID
    reply_message_id: UUID
    reply_text: str
    """Always the reply as stored, also for a retried or concurrently repeated turn."""
    position: int | None
    """The notification id of the last event this turn wrote (for read-your-writes)."""
    mood: int | None = None
    """The character's mood after this turn, -100..100."""
    expression: str | None = None
    """The avatar's expression after this turn."""
    emotion: EmotionState | None = None
    """The emotion state as this turn's MoodChanged left it, to read only (None when the
    turn repeats a stored one: it changed nothing)."""
    before: tuple[int, str] | None = None
    """The mood and expression this turn's MoodChanged moved from: the state just before
    it, whatever other turns saved meanwhile (None: the first mood of this state)."""


@dataclass(frozen=True)
class Felt:
    """A turn's MoodChanged: the state it left, and the mood and expression it moved from."""

    before: tuple[int, str] | None
    state: EmotionState


@dataclass(frozen=True)
class TurnAccepted:
    """A streamed turn's first step: the user's message is stored under this id."""

    message_id: UUID


@dataclass(frozen=True)
class TurnDone:
    """A streamed turn's last step: the turn as stored."""

    turn: ChatTurn


class MessageAdmission(Protocol):
    """Counts a user's chat message against their limits (app.message_limits.MessageLimits)."""

    def admit(self, user_id: UUID, account: User | None = None) -> Ticket: ...

    def withdraw(self, ticket: Ticket) -> None: ...


@dataclass(frozen=True)
class _OpenTurn:
    """A turn whose user message is stored and whose reply is still to be made."""

    user_id: UUID
    character: Character
    timezone: str
    nickname: str
    conversation: Conversation
    message_id: UUID
    position: int | None
    now: datetime
    sentiment: Sentiment
    today: DailyLife | None
    request: ChatRequest
    emotion: EmotionState | None
    """The emotion state as the turn found it, a private copy the reply's save builds on."""
    retried: bool = False
    """The message was stored by an earlier turn of it (a client's retry), still unreplied."""
    limits: MessageAdmission | None = None
    ticket: Ticket | None = None
    """The message's place in the user's limits, given back if the turn fails."""

    def give_back(self) -> None:
        """The turn failed before its reply was stored: the message does not count."""
        if self.limits is not None and self.ticket is not None:
            self.limits.withdraw(self.ticket)


@dataclass(frozen=True)
class _Made:
    """The reply a model (or the fallback) made for an open turn."""

    text: str
    model: str
    fallback: bool
    told: bool
    tokens: tuple[int, int]
    first_token_ms: int | None
    latency_ms: int


@dataclass(frozen=True)
class AlternativeReply:
    """One alternative of a reply, as regenerating or choosing left it."""

    message_id: UUID
    alternative: int
    """This alternative's number, 1 being the first take."""
    alternatives: int
    """How many the reply has now."""
    text: str
    position: int | None
    """The notification id of the event written (None when nothing changed)."""


@dataclass(frozen=True)
class Login:
    user_id: UUID
    token_version: int
    """Tokens carry it; a password change or being forgotten moves it on."""


def _position(recordings: Sequence[Recording[UUID]]) -> int | None:
    return max((r.notification.id for r in recordings), default=None)


T = TypeVar("T")


def _checked_turn(
    open_turn: Callable[..., T],
) -> Callable[..., T]:
    """Opens a turn with what it only reads brought up to date in one read of the store.

    The user, the character and the memory book are read (not changed) by the
    turn, so no version check would catch them stale; the day's event is
    usually not there, nor is a memory book before the first memory, and that
    is checked in the same read. The conversation
    and the emotion state are saved by the turn: the store's version check
    decides for them. The user's tier and time zone, which the message limits
    go by, come from the same read, so a tier changed by any process counts
    for the next message at no further cost; so does the conversation when
    the message has a client id, to tell a retry from a new message before it
    is counted.
    """

    @functools.wraps(open_turn)
    def opened(
        self: CompanionApplication,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None,
        *args: Any,
    ) -> T:
        today = self.clock().astimezone(UTC).date()
        days = [today + timedelta(days=offset) for offset in (-1, 0, 1)]
        # A message with a client id may be a retry: the conversation tells before it counts.
        conversation = [] if client_message_id is None else [conversation_id(user_id, character_id)]
        with self.aggregates.checked(
            [user_id, character_id, *conversation],
            # Whatever the user's time zone, their today is one of these days.
            maybe_missing=[
                memory_book_id(user_id, character_id),
                *(daily_life_id(character_id, day.isoformat()) for day in days),
            ],
        ):
            return open_turn(self, user_id, character_id, text, client_message_id, *args)

    return opened


class CompanionApplication(Application[UUID]):
    """Users, characters and conversations, stored as events."""

    name = "companion"
    # Streams that grow with every turn load from a snapshot and its few later
    # events, not from their whole history.
    snapshotting_intervals = {  # noqa: RUF012 - the library's class variable
        Conversation: 200,
        EmotionState: 200,
        MemoryBook: 200,
    }

    def __init__(
        self,
        env: dict[str, str],
        *,
        passwords: Passwords,
        chat_model: ChatModel,
        login_throttle: LoginThrottle,
        on_saved: Callable[[int], None] | None = None,
        sentiment: SentimentScorer | None = None,
        weather: WeatherReport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(env)
        self.sentiment = sentiment
        """Scores each user message for the emotion engine; none: every message is neutral."""
        self.weather = weather
        """Optional: the weather where the user is (none by default, no network)."""
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.passwords = passwords
        self.login_throttle = login_throttle
        # Refusing an unknown email verifies against this, at the cost of a real check.
        self._dummy_hash = passwords.hash(secrets.token_urlsafe(16))
        self.chat_model = chat_model
        self.on_saved = on_saved
        """Called with the position of every save, e.g. to wake this process's runner."""
        self.memory = MemorySettings()
        """How the turn recalls and remembers (the composition root sets it from settings)."""
        self.memory_work = MemoryWork()
        """The model extractor's worker: it reads messages after their reply is stored."""

    def close(self) -> None:
        self.memory_work.close()
        super().close()

    # -- saving ------------------------------------------------------------------

    def construct_repository(self) -> AggregateCache:
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        self.aggregates = AggregateCache(
            self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
            recorder=self.recorder,
        )
        """The repository, with its cache (see companion.app.aggregate_cache)."""
        return self.aggregates

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        recordings = self.events.put(
            processing_event.events,
            tracking=processing_event.tracking,
            **processing_event.saved_kwargs,
        )
        self.aggregates.saved(processing_event.aggregates.values())
        return recordings

    def save_all(self, *aggregates: Aggregate) -> int | None:
        """Save aggregates atomically and return the position of the last event."""
        self.aggregates.confirm(aggregate.id for aggregate in aggregates)
        try:
            recordings = self.save(*aggregates)
        except BaseException:
            # The store moved on from these (a conflict), or may have (the commit's fate is
            # unknown): the next load reads them from the store.
            self.aggregates.evict(aggregate.id for aggregate in aggregates)
            raise
        position = _position(recordings)
        if position is not None and self.on_saved is not None:
            self.on_saved(position)
        return position

    def _load(self, cls: type[A], aggregate_id: UUID, *, to_change: bool = True) -> A:
        """The aggregate, as a private copy when it is `to_change`.

        Read-only loads share the cached object and skip the copy; nothing may
        mutate what they return. A load to change reads nothing from the store
        when the aggregate is cached: the save's version check decides.
        """
        aggregate: Aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=to_change)
        if not isinstance(aggregate, cls):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def _retry_on_conflict(self, attempt: Callable[[], Any]) -> Any:
        """Run a use case's load-decide-save `attempt` until its save is not in conflict.

        What an attempt loads to change comes from the cache unread. A conflict
        evicts it, so the next attempt decides on the store's state. What a save
        does not store but the decision read is checked before the save
        (AggregateCache.confirm). An attempt that saves nothing (or fails) on
        what it loaded from the cache was not checked by the store: it is made
        once more on a fresh load.
        """
        retry = 0
        rechecked = False
        while retry < MAX_CONFLICT_RETRIES:
            with self.aggregates.attempt() as tracked:
                try:
                    result = attempt()
                except IntegrityError:
                    # Someone saved the same aggregate first: reload and decide again,
                    # after a random pause so that the same writers do not collide again.
                    self.aggregates.evict(tracked.loaded)
                    ceiling = min(CONFLICT_BACKOFF_SECONDS * 2**retry, MAX_CONFLICT_BACKOFF_SECONDS)
                    time.sleep(random.uniform(0, ceiling))
                    retry += 1
                    continue
                except Exception:
                    if rechecked or tracked.saved or not tracked.unchecked():
                        raise
                    self.aggregates.evict(tracked.unchecked())
                    rechecked = True
                    continue
            if tracked.unchecked() and not tracked.saved and not rechecked:
                self.aggregates.evict(tracked.unchecked())
                rechecked = True
                continue
            return result
        raise ConcurrencyConflict("too many concurrent writers, try again")

    # -- users -------------------------------------------------------------------

    def register(
        self, *, email: str, password: str, name: str, nickname: str, timezone: str = "UTC"
    ) -> UUID:
        """A new account (see register_user); returns its id."""
        user_id, _ = self.register_user(
            email=email, password=password, name=name, nickname=nickname, timezone=timezone
        )
        return user_id

    def register_user(
        self, *, email: str, password: str, name: str, nickname: str, timezone: str = "UTC"
    ) -> tuple[UUID, int | None]:
        """A new account and the position of its events.

        The email is claimed in the same atomic save as the user, so of two
        registrations of one email only one can succeed.
        """
        email = normalise_email(email)
        check_password(password)
        user, claim = User.register(
            user_id=uuid4(),
            email=email,
            password_hash=self.passwords.hash(password),
            name=name,
            nickname=nickname,
            timezone=timezone,
        )
        try:
            position = self.save_all(user, claim)
        except IntegrityError as conflict:
            raise EmailAlreadyRegistered("this email is already registered") from conflict
        log.info("user.registered", user_id=str(user.id))
        return user.id, position

    def authenticate(self, *, email: str, password: str, address: str | None = None) -> Login:
        """The user for a correct email and password, within the login throttle.

        Failed attempts are counted per account and per client address; past the
        limit the caller is told how long to wait (TooManyAttempts). A hash made
        with older parameters is replaced, keeping the password and the tokens.
        """
        account = email.strip().lower()
        wait = self.login_throttle.admit(account=account, address=address)
        if wait:
            raise TooManyAttempts("too many failed logins, try again later", retry_after=wait)
        try:
            user = self._check_password(email, password)
        except InvalidCredentials:
            raise
        except BaseException:
            # The check could not be made (the store is down, say): not the caller's failure.
            self.login_throttle.withdraw(account=account, address=address)
            raise
        self.login_throttle.succeeded(account=account, address=address)
        if self.passwords.needs_rehash(user.password_hash):
            self._rehash(user.id, password)
        return Login(user.id, user.token_version)

    def _check_password(self, email: str, password: str) -> User:
        try:
            claim = self._load(EmailClaim, email_claim_id(email), to_change=False)
            user = self._load(User, claim.user_id, to_change=False)
        except (AggregateNotFoundError, InvalidInput):
            self.passwords.verify(self._dummy_hash, password)
            raise InvalidCredentials("wrong email or password") from None
        if user.forgotten or not self.passwords.verify(user.password_hash, password):
            raise InvalidCredentials("wrong email or password")
        return user

    def _rehash(self, user_id: UUID, password: str) -> None:
        password_hash = self.passwords.hash(password)

        def save() -> None:
            user = self._load(User, user_id)
            if not user.forgotten and self.passwords.needs_rehash(user.password_hash):
                user.rehash_password(password_hash)
                self.save_all(user)

        try:
            self._retry_on_conflict(save)
        except ConcurrencyConflict:
            log.warning("user.rehash_postponed", user_id=str(user_id))

    def change_password(
        self, *, user_id: UUID, current_password: str, new_password: str
    ) -> int | None:
        """A new password; every token issued before stops working."""
        check_password(new_password)
        password_hash = self.passwords.hash(new_password)

        def save() -> int | None:
            user = self._load(User, user_id)
            if user.forgotten:
                raise UserNotFound("no such user")
            if not self.passwords.verify(user.password_hash, current_password):
                raise InvalidCredentials("wrong password")
            user.change_password(password_hash)
            return self.save_all(user)

        position: int | None = self._retry_on_conflict(save)
        log.info("user.password_changed", user_id=str(user_id))
        return position

    def forget_user(self, *, user_id: UUID) -> int | None:
        """The user leaves: personal data out of the aggregate, every token invalid."""

        def save() -> int | None:
            try:
                user = self._load(User, user_id)
            except AggregateNotFoundError:
                raise UserNotFound("no such user") from None
            user.forget()
            return self.save_all(user)

        position: int | None = self._retry_on_conflict(save)
        log.info("user.forgotten", user_id=str(user_id))
        return position

    def user(self, user_id: UUID) -> User:
        """The user, to read only (it may be the cached object itself)."""
        try:
            user = self._load(User, user_id, to_change=False)
        except AggregateNotFoundError:
            raise UserNotFound("no such user") from None
        if user.forgotten:
            raise UserNotFound("no such user")
        return user

    # -- characters --------------------------------------------------------------

    def create_character(self, *, user_id: UUID, persona: Persona) -> tuple[UUID, int | None]:
        self.user(user_id)
        character = Character.create(character_id=uuid4(), owner_id=user_id, persona=persona)
        position = self.save_all(character)
        log.info("character.created", user_id=str(user_id), character_id=str(character.id))
        return character.id, position

    def character(self, *, user_id: UUID, character_id: UUID) -> Character:
        """The user's own character, to read only; another user's is reported as not found."""
        try:
            character = self._load(Character, character_id, to_change=False)
        except AggregateNotFoundError:
            raise CharacterNotFound("no such character") from None
        character.ensure_owned_by(user_id)
        return character

    # -- chat --------------------------------------------------------------------

    def send_message(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None = None,
        limits: MessageAdmission | None = None,
    ) -> ChatTurn:
        """One whole chat turn: store the message, ask the model, store the reply.

        The model is called outside any transaction. Concurrent turns on the
        same conversation are serialised by the store's optimistic concurrency:
        a writer that loses reloads the conversation and tries again, so no
        message is lost. A client retry with the same client_message_id returns
        the turn already stored.

        With `limits`, the message is counted against the user's limits before
        anything is stored (RateLimited when none is left), and given back if
        the turn fails.
        """
        opened = self._open_turn(user_id, character_id, text, client_message_id, limits)
        if isinstance(opened, ChatTurn):
            return opened
        started = time.perf_counter()
        try:
            try:
                made = self._made(opened, self.chat_model.reply(opened.request), started)
            except Exception:
                log.exception("chat_model.failed", model=self.chat_model.name)
                made = self._fallback(opened, started)
            return self._close_turn(opened, made)
        except BaseException:
            opened.give_back()
            raise

    async def send_message_streaming(
        self,
        *,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None = None,
        limits: MessageAdmission | None = None,
    ) -> AsyncIterator[TurnAccepted | ChatDelta | ChatRestart | TurnDone]:
        """The turn of send_message, streamed: accepted, the model's deltas, done.

        Stored exactly as send_message stores it (same idempotency, mood,
        relationship, day told): the stored reply is ChatDone's text, never the
        deltas joined. A model failing mid-stream restarts the deltas with the
        in-character fallback. Store calls run in a worker thread, the model's
        stream in the caller's event loop.
        """
        opened = await anyio.to_thread.run_sync(
            self._open_turn, user_id, character_id, text, client_message_id, limits
        )
        if isinstance(opened, ChatTurn):
            yield TurnAccepted(opened.user_message_id)
            yield TurnDone(opened)
            return
        try:
            yield TurnAccepted(opened.message_id)
            started = time.perf_counter()
            shown = False
            try:
                answer = None
                stream = getattr(self.chat_model, "stream", None)
                if stream is None:
                    answer = await anyio.to_thread.run_sync(self.chat_model.reply, opened.request)
                    shown = True
                    yield ChatDelta(answer.text)
                else:
                    async for item in stream(opened.request):
                        if isinstance(item, ChatDone):
                            answer = item.reply
                            break
                        shown = shown or isinstance(item, ChatDelta)
                        yield item
                if answer is None:
                    raise RuntimeError("the model's stream ended without its reply")
                made = self._made(opened, answer, started)
            except Exception:
                log.exception("chat_model.failed", model=self.chat_model.name)
                made = self._fallback(opened, started)
                if shown:
                    yield ChatRestart()
                yield ChatDelta(made.text)
            turn = await anyio.to_thread.run_sync(self._close_turn, opened, made)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(opened.give_back)
            raise
        yield TurnDone(turn)

    @_checked_turn
    def _open_turn(
        self,
        user_id: UUID,
        character_id: UUID,
        text: str,
        client_message_id: str | None,
        limits: MessageAdmission | None = None,
    ) -> _OpenTurn | ChatTurn:
        """Store the user's message; the stored turn if this is a retry of a replied one."""
        character = self.character(user_id=user_id, character_id=character_id)
        user = self.user(user_id)
        conv_id = conversation_id(user_id, character_id)
        ticket = self._admit(limits, user, conv_id, client_message_id)
        try:
            opened = self._opened(user, character, text, client_message_id)
        except BaseException:
            if limits is not None and ticket is not None:
                limits.withdraw(ticket)
            raise
        if isinstance(opened, ChatTurn) or opened.retried:
            # Another turn of this message stored it first, and counted it.
            if limits is not None and ticket is not None:
                limits.withdraw(ticket)
            ticket = None
        if isinstance(opened, ChatTurn):
            return opened
        return dataclasses.replace(opened, limits=limits, ticket=ticket)

    def _admit(
        self,
        limits: MessageAdmission | None,
        user: User,
        conv_id: UUID,
        client_message_id: str | None,
    ) -> Ticket | None:
        """Count the message, unless the conversation already holds it (a client's retry).

        The user and the conversation are as this turn's read of the store found
        them. A retry racing its original past that read is counted here and
        given back once its save finds the message stored (`_open_turn`): of the
        turns of one message, the one that stores it keeps the count.
        """
        if limits is None:
            return None
        client_id = check_client_message_id(client_message_id)
        if client_id is not None:
            try:
                conversation = self._load(Conversation, conv_id, to_change=False)
            except AggregateNotFoundError:
                pass
            else:
                if conversation.known_message(client_id) is not None:
                    return None
        return limits.admit(user.id, user)

    def _opened(
        self,
        user: User,
        character: Character,
        text: str,
        client_message_id: str | None,
    ) -> _OpenTurn | ChatTurn:
        user_id, character_id = user.id, character.id
        conv_id = conversation_id(user_id, character_id)
        now = self.clock()
        sentiment = self._score(text)

        def store_user_message() -> tuple[Conversation, UUID, int | None, bool]:
            try:
                conversation = self._load(Conversation, conv_id)
            except AggregateNotFoundError:
                conversation = Conversation(user_id=user_id, character_id=character_id)
            client_id = check_client_message_id(client_message_id)
            stored_before = client_id is not None and bool(conversation.known_message(client_id))
            message_id = conversation.send_user_message(
                text, client_message_id=client_message_id, message_id=uuid4()
            )
            return conversation, message_id, self.save_all(conversation), stored_before

        conversation, message_id, position, stored_before = self._retry_on_conflict(
            store_user_message
        )
        if not conversation.is_awaiting_reply(message_id):
            # A retry of a turn that already has its reply: answer the stored one.
            text_stored = self._stored_reply(conversation, reply_id(message_id))
            mood, expression = self._mood_now(user_id, character_id)
            return ChatTurn(
                message_id, reply_id(message_id), text_stored, position, mood, expression
            )

        emotion = self._emotion_to_change(user_id, character_id)
        feeling = self._feel(character, user.timezone, sentiment, now, emotion)
        today = self._untold_day(character_id, user.timezone, now)
        recalled = recall_and_remember(
            self,
            user_id=user_id,
            character_id=character_id,
            message_id=message_id,
            text=text,
            now=now,
            timezone=user.timezone,
            tier=user.tier,
        )

        request = ChatRequest(
            persona=character.persona,
            user_nickname=user.nickname,
            user_text=text,
            recent_turns=tuple(
                t for t in conversation.recent_turns() if t.message_id != message_id
            ),
            relationship_level=character.relationship_level,
            sentiment=sentiment,
            mood=feeling.after,
            daily_event=None if today is None else _told(today, text),
            memories=recalled.memories,
        )
        return _OpenTurn(
            user_id,
            character,
            user.timezone,
            user.nickname,
            conversation,
            message_id,
            position,
            now,
            sentiment,
            today,
            request,
            emotion,
            retried=stored_before,
        )

    def _made(self, opened: _OpenTurn, answer: ChatReply, started: float) -> _Made:
        return _Made(
            text=answer.text,
            model=answer.model,
            fallback=answer.fallback,
            told=answer.told_daily_event and opened.request.daily_event is not None,
            tokens=(answer.prompt_tokens, answer.completion_tokens),
            first_token_ms=answer.first_token_ms,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )

    def _fallback(self, opened: _OpenTurn, started: float) -> _Made:
        return _Made(
            text=fallback_reply(
                opened.character.persona, opened.nickname, opened.request.user_text
            ),
            model=self.chat_model.name,
            fallback=True,
            told=False,
            tokens=(0, 0),
            first_token_ms=None,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )

    def _close_turn(self, opened: _OpenTurn, made: _Made) -> ChatTurn:
        """Store the reply with what it changes (mood, relationship, the day told)."""
        user_id, character_id, message_id = opened.user_id, opened.character.id, opened.message_id
        conv_id = conversation_id(user_id, character_id)
        # The first attempt builds on the conversation and the emotion state as this
        # turn found them; only if another writer got there first are they loaded again.
        unsaved = [opened.conversation]
        emotions = [opened.emotion]

        stored: list[str] = []
        felt: list[Felt] = []

        def store_reply() -> int | None:
            conversation = unsaved.pop() if unsaved else self._load(Conversation, conv_id)
            if not conversation.is_awaiting_reply(message_id):
                # A concurrent retry of this same turn replied first: its reply is the
                # one stored, so it is the one to answer, not the one made here.
                stored.append(self._stored_reply(conversation, reply_id(message_id)))
                return None
            conversation.reply(
                in_reply_to=message_id,
                text=made.text,
                model=made.model,
                latency_ms=made.latency_ms,
                prompt_tokens=made.tokens[0],
                completion_tokens=made.tokens[1],
                fallback=made.fallback,
                first_token_ms=made.first_token_ms,
                provenance=self._provenance(opened.request, opened.character, message_id),
            )
            shared = opened.today if made.told and not made.fallback else None
            retry = not emotions
            also = self._after_reply(
                self.character(user_id=user_id, character_id=character_id)
                if retry
                else opened.character,
                opened.timezone,
                opened.sentiment,
                opened.now,
                reply_id(message_id),
                shared,
                felt,
                self._emotion_to_change(user_id, character_id) if retry else emotions.pop(),
            )
            return self.save_all(conversation, *also)

        reply_position = self._retry_on_conflict(store_reply)
        remember_later(
            self,
            user_id=user_id,
            character_id=character_id,
            message_id=message_id,
            text=opened.request.user_text,
            now=opened.now,
            model_failed=made.fallback,
        )
        if stored or not felt:
            # Another turn of this message stored the reply, with its own MoodChanged.
            mood, expression = self._mood_now(user_id, character_id)
            return ChatTurn(
                message_id,
                reply_id(message_id),
                stored[-1] if stored else made.text,
                reply_position or opened.position,
                mood,
                expression,
            )
        feeling = felt[-1]  # the attempt that was saved
        return ChatTurn(
            message_id,
            reply_id(message_id),
            made.text,
            reply_position or opened.position,
            feeling.state.mood,
            feeling.state.expression.name,
            feeling.state,
            feeling.before,
        )

    def model_parameters(self) -> ModelParameters:
        """The chat model's name and how it is asked (its budget, its temperature if set)."""
        budget = getattr(self.chat_model, "budget", None)
        temperature = getattr(self.chat_model, "temperature", None)
        return ModelParameters(
            model=self.chat_model.name,
            budget=budget if isinstance(budget, PromptBudget) else PromptBudget(),
            temperature=None if temperature is None else float(temperature),
        )

    def _provenance(
        self, request: ChatRequest, character: Character, in_reply_to: UUID
    ) -> dict[str, Any]:
        """What went into the prompt of the reply to `in_reply_to`, as its event stores it."""
        return prompt_provenance(
            request,
            self.model_parameters(),
            in_reply_to=in_reply_to,
            persona_version=character.version,
        ).to_state()

    def mark_read(self, *, user_id: UUID, character_id: UUID, message_id: UUID) -> int | None:
        """The user has read the conversation up to this message (MessageRead).

        The message must be one of this conversation's: any other id (unknown, or
        another conversation's) is MessageNotFound and records nothing.
        """
        self.character(user_id=user_id, character_id=character_id)

        def save() -> int | None:
            try:
                conversation = self._load(Conversation, conversation_id(user_id, character_id))
            except AggregateNotFoundError:
                raise MessageNotFound("no such message in this conversation") from None
            if not self._holds_message(conversation, message_id):
                raise MessageNotFound("no such message in this conversation")
            conversation.mark_read(message_id)
            return self.save_all(conversation)

        position: int | None = self._retry_on_conflict(save)
        return position

    def _holds_message(self, conversation: Conversation, message_id: UUID) -> bool:
        """Whether a message of the conversation has this id: its recent turns, else its log."""
        if any(turn.message_id == message_id for turn in conversation.recent_turns()):
            return True
        messages = (Conversation.UserMessageSent, Conversation.CompanionReplied)
        upper: int | None = None
        while True:
            events = list(self.events.get(conversation.id, lte=upper, desc=True, limit=200))
            if any(isinstance(e, messages) and e.message_id == message_id for e in events):
                return True
            if len(events) < 200:
                return False
            upper = events[-1].originator_version - 1

    def _stored_reply(self, conversation: Conversation, message_id: UUID) -> str:
        """The text of a stored reply: from the recent turns, else from the log itself."""
        for turn in conversation.recent_turns():
            if turn.message_id == message_id:
                return turn.text
        # Older than the recent turns (a late client retry): read the stream backwards.
        upper: int | None = None
        while True:
            events = list(self.events.get(conversation.id, lte=upper, desc=True, limit=200))
            for stored_event in events:
                if getattr(stored_event, "message_id", None) == message_id:
                    text: str = stored_event.text  # type: ignore[attr-defined]
                    return text
            if len(events) < 200:
                raise MessageNotFound("the reply of this message is not stored")
            upper = events[-1].originator_version - 1

    # -- sessions ----------------------------------------------------------------

    def start_session(self, *, user_id: UUID, device: str | None) -> UUID:
        """A connection opened (SessionStarted): for daily actives and session lengths."""
        session = Session(user_id=user_id, device=device, started_at=self.clock())
        self.save_all(session)
        return session.id

    def end_session(self, session_id: UUID) -> None:
        """The connection closed (SessionEnded)."""

        def save() -> None:
            session = self._load(Session, session_id)
            session.end(self.clock())
            self.save_all(session)

        self._retry_on_conflict(save)

    # -- alternative replies (regenerate, "swipe") ---------------------------------

    def regenerate_reply(
        self, *, user_id: UUID, character_id: UUID, message_id: UUID
    ) -> AlternativeReply:
        """Another alternative of the latest reply, asked of the model with the same context.

        The model sees what it saw for the first take: the user message the
        reply answers and the turns before it. The new alternative becomes the
        chosen one; the earlier ones stay in the log and can be chosen again.
        The mood is not felt again (the user said nothing new).
        """
        character = self.character(user_id=user_id, character_id=character_id)
        user = self.user(user_id)
        conv_id = conversation_id(user_id, character_id)
        try:
            conversation = self._load(Conversation, conv_id, to_change=False)
        except AggregateNotFoundError:
            raise MessageNotFound("no such message in this conversation") from None
        conversation.check_swipeable(message_id)
        turns = conversation.recent_turns()
        asked = next(
            (
                i
                for i, t in enumerate(turns)
                if t.sender == "user" and reply_id(t.message_id) == message_id
            ),
            None,
        )
        if asked is None:
            raise ReplyNotLatest("the message this reply answers is no longer recent")
        user_text = turns[asked].text
        sentiment = self._score(user_text)
        mood, _ = self._mood_now(user_id, character_id)
        request = ChatRequest(
            persona=character.persona,
            user_nickname=user.nickname,
            user_text=user_text,
            recent_turns=turns[:asked],
            relationship_level=character.relationship_level,
            sentiment=sentiment,
            mood=baseline(character.persona.personality) if mood is None else mood,
            daily_event=None,
            take=conversation.alternatives_of(message_id) + 1,
            memories=recall_only(
                self,
                user_id=user_id,
                character_id=character_id,
                text=user_text,
                now=self.clock(),
                timezone=user.timezone,
            ),
        )
        started = time.perf_counter()
        try:
            answer = self.chat_model.reply(request)
            text_out, model, fallback = answer.text, answer.model, answer.fallback
        except Exception:
            log.exception("chat_model.failed", model=self.chat_model.name)
            text_out = fallback_reply(character.persona, user.nickname, user_text)
            model, fallback = self.chat_model.name, True
        latency_ms = int((time.perf_counter() - started) * 1000)

        def save() -> AlternativeReply:
            conversation = self._load(Conversation, conv_id)
            alternative = conversation.regenerate_reply(
                message_id=message_id,
                text=text_out,
                model=model,
                latency_ms=latency_ms,
                fallback=fallback,
                provenance=self._provenance(request, character, turns[asked].message_id),
            )
            position = self.save_all(conversation)
            return AlternativeReply(message_id, alternative, alternative, text_out, position)

        regenerated: AlternativeReply = self._retry_on_conflict(save)
        return regenerated

    def choose_reply(
        self, *, user_id: UUID, character_id: UUID, message_id: UUID, alternative: int
    ) -> AlternativeReply:
        """Go on from one alternative of the latest reply (1 is the first take)."""
        self.character(user_id=user_id, character_id=character_id)
        conv_id = conversation_id(user_id, character_id)

        def save() -> AlternativeReply:
            try:
                conversation = self._load(Conversation, conv_id)
            except AggregateNotFoundError:
                raise MessageNotFound("no such message in this conversation") from None
            conversation.choose_reply(message_id=message_id, alternative=alternative)
            position = self.save_all(conversation) if conversation.pending_events else None
            text = next(t.text for t in conversation.recent_turns() if t.message_id == message_id)
            return AlternativeReply(
                message_id, alternative, conversation.alternatives_of(message_id), text, position
            )

        chosen: AlternativeReply = self._retry_on_conflict(save)
        return chosen

    # -- emotions ----------------------------------------------------------------

    def _score(self, text: str) -> Sentiment:
        if self.sentiment is None:
            return NEUTRAL
        try:
            return self.sentiment.score(text)
        except Exception:
            # A scorer's failure must not cost the user their turn: it counts as neutral.
            log.exception("sentiment.failed")
            return NEUTRAL

    def emotion_state(self, user_id: UUID, character_id: UUID) -> EmotionState | None:
        """The character's emotion state towards the user, to read only (None before any)."""
        try:
            return self._load(
                EmotionState, emotion_state_id(user_id, character_id), to_change=False
            )
        except AggregateNotFoundError:
            return None

    def set_cycle(self, *, user_id: UUID, character_id: UUID, cycle: Cycle | None) -> int | None:
        """Opt the character in to a cycle factor in its mood (None opts out; off by default)."""
        character = self.character(user_id=user_id, character_id=character_id)

        def save() -> int | None:
            try:
                state = self._load(EmotionState, emotion_state_id(user_id, character_id))
            except AggregateNotFoundError:
                state = EmotionState(
                    user_id=user_id,
                    character_id=character_id,
                    baseline=baseline(character.persona.personality),
                )
            state.opt_into_cycle(cycle)
            return self.save_all(state)

        position: int | None = self._retry_on_conflict(save)
        return position

    def _mood_now(self, user_id: UUID, character_id: UUID) -> tuple[int | None, str | None]:
        state = self.emotion_state(user_id, character_id)
        if state is None:
            return None, None
        return state.mood, state.expression.name

    def _feel(
        self,
        character: Character,
        timezone: str,
        sentiment: Sentiment,
        now: datetime,
        state: EmotionState | None = None,
    ) -> MoodOutcome:
        """The mood policy for one message, on the state as it is (or as given)."""
        personality = character.persona.personality
        if state is None:
            state = self.emotion_state(character.owner_id, character.id)
        weather = None
        if self.weather is not None:
            try:
                weather = self.weather.weather(timezone, now)
            except Exception:
                log.exception("weather.failed")
        # The baseline follows the persona as it is now, should it have changed.
        return react(
            mood=baseline(personality) if state is None else state.mood,
            baseline_mood=baseline(personality),
            last_change_at=None if state is None else state.updated_at,
            sentiment=sentiment,
            personality=personality,
            now=now,
            timezone=timezone,
            weather=weather,
            cycle=None if state is None else state.cycle,
        )

    def _untold_day(self, character_id: UUID, timezone: str, now: datetime) -> DailyLife | None:
        """Today's event in the character's life (the user's today), if not told yet."""
        day = local_time(now, timezone).date().isoformat()
        try:
            life = self._load(DailyLife, daily_life_id(character_id, day), to_change=False)
        except AggregateNotFoundError:
            return None
        return None if life.shared else life

    def _emotion_to_change(self, user_id: UUID, character_id: UUID) -> EmotionState | None:
        try:
            return self._load(EmotionState, emotion_state_id(user_id, character_id))
        except AggregateNotFoundError:
            return None

    def _after_reply(
        self,
        character: Character,
        timezone: str,
        sentiment: Sentiment,
        now: datetime,
        reply_message_id: UUID,
        shared: DailyLife | None,
        felt: list[Felt],
        state: EmotionState | None,
    ) -> list[Aggregate]:
        """What a replied turn changes besides the conversation, to save with the reply.

        MoodChanged on the emotion state; RelationshipLevelChanged when the bond
        says so; DailyEventShared when the day's event went into the reply.
        `character` is read only: a copy to change is loaded only when the
        relationship level moves.
        """
        before = None if state is None else (state.mood, state.expression.name)
        if state is None:
            state = EmotionState(
                user_id=character.owner_id,
                character_id=character.id,
                baseline=baseline(character.persona.personality),
            )
        outcome = self._feel(character, timezone, sentiment, now, state)
        silence = None if state.last_interaction_at is None else now - state.last_interaction_at
        bond = next_bond(state.bond, sentiment, silence)
        change = relationship_change(
            current=character.relationship_level,
            bond_before=state.bond,
            bond_after=bond,
            silence=silence,
        )
        state.record(outcome, cause="message", at=now, sentiment=sentiment, bond=bond)
        felt.append(Felt(before, state))
        changed: list[Aggregate] = [state]
        if change is not None:
            to_change = self._load(Character, character.id)
            to_change.change_relationship_level(change.level, change.reason)
            changed.append(to_change)
        if shared is not None:
            life = self._load(DailyLife, shared.id)
            life.share(message_id=reply_message_id, at=now)
            changed.append(life)
        return changed


def _told(life: DailyLife, user_text: str) -> str:
    """The day's event in the user's language."""
    return life.description_ja if is_japanese(user_text) else life.description
