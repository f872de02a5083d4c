"""The composition root: settings in, a wired application and its read side out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache, partial

import redis
import structlog
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import Environment, resolve_topic

from companion.adapters.card_images import FileCardImages
from companion.adapters.llm.embeddings import OpenAIEmbedder
from companion.adapters.llm.memory_extractor import OpenAIMemoryExtractor
from companion.adapters.llm.offline import OfflinePersonaResponder
from companion.adapters.llm.openai_chat import NO_KEY, OpenAIChatModel
from companion.adapters.morphology import MorphologicalLemmatizer
from companion.adapters.passwords import Argon2Passwords
from companion.adapters.payments.sandbox import SandboxGateway
from companion.adapters.payments.stripe_gateway import StripeGateway
from companion.adapters.rate_limit import MemoryMessageLimiter, RedisMessageLimiter
from companion.adapters.sentiment import LexiconSentimentScorer
from companion.adapters.socket_leases import SocketLeases
from companion.adapters.throttle import MemoryThrottle, RedisThrottle, ThrottlePolicy
from companion.app.accounts import Accounts
from companion.app.alternatives import Alternatives
from companion.app.application import CompanionApplication
from companion.app.characters import Characters
from companion.app.chat import Chat
from companion.app.commerce import Commerce
from companion.app.conversation_queue import ConversationQueue
from companion.app.counted import CountedChat, CountedThrottle
from companion.app.daily_life import DailyLifeScheduler
from companion.app.errors import StoreMissing
from companion.app.feelings import Feelings
from companion.app.memories import Memories, MemorySettings
from companion.app.message_limits import MessageLimits
from companion.app.model_call import ModelCall
from companion.app.payments import Payments
from companion.app.persistence import POSTGRES_FACTORY, Store, store_for
from companion.app.session_tracker import SessionTracker
from companion.app.sessions import Sessions
from companion.app.settings import Settings, SettingsError
from companion.app.store_guard import verify_store_encoding
from companion.app.unit_of_work import EventStoreUnitOfWork
from companion.domain.chat import ChatModel
from companion.domain.payments import PaymentGateway
from companion.domain.ports import LoginThrottle, Passwords, Throttle
from companion.domain.prompt import PromptBudget
from projections.admins import AdminsProjection
from projections.analytics import AnalyticsProjection
from projections.base import Projection
from projections.catalogue import CatalogueProjection
from projections.characters import CharactersProjection
from projections.conversations import ConversationsProjection
from projections.emotion_states import EmotionStatesProjection
from projections.inventories import InventoriesProjection
from projections.memories import MemoriesProjection
from projections.postgres_views import PostgresReplicaViews, PostgresViewStore
from projections.runner import ProjectionRunner
from projections.sqlite_views import SQLiteViewStore
from projections.store import ViewStore
from projections.users import UsersProjection

log = structlog.get_logger(__name__)


@dataclass
class ReadModels:
    conversations: ConversationsProjection = field(default_factory=ConversationsProjection)
    characters: CharactersProjection = field(default_factory=CharactersProjection)
    users: UsersProjection = field(default_factory=UsersProjection)
    inventories: InventoriesProjection = field(default_factory=InventoriesProjection)
    catalogue: CatalogueProjection = field(default_factory=CatalogueProjection)
    emotion_states: EmotionStatesProjection = field(default_factory=EmotionStatesProjection)
    memories: MemoriesProjection = field(default_factory=MemoriesProjection)
    analytics: AnalyticsProjection = field(default_factory=AnalyticsProjection)
    admins: AdminsProjection = field(default_factory=AdminsProjection)

    def all(self) -> list[Projection]:
        return [
            self.conversations,
            self.characters,
            self.users,
            self.inventories,
            self.catalogue,
            self.emotion_states,
            self.memories,
            self.analytics,
            self.admins,
        ]


@dataclass
class Companion:
    """Everything a process needs: the use cases, the store under them, the read side."""

    settings: Settings
    store: Store
    application: CompanionApplication
    """The repository: its recorder and mapper, for the CLI and the projection runner."""
    uow: EventStoreUnitOfWork
    """The unit of work every use case goes through."""
    accounts: Accounts
    characters: Characters
    chat: Chat
    alternatives: Alternatives
    sessions: Sessions
    feelings: Feelings
    memories: Memories
    commerce: Commerce
    """The store's use cases: catalogue, gems, purchases, equipment."""
    payments: Payments
    """Gem-pack checkouts, subscriptions and the payment provider's events."""
    model_call: ModelCall
    """The chat model, as the turn and the alternatives ask it."""
    views: ViewStore
    read_models: ReadModels
    runner: ProjectionRunner
    redis: redis.Redis | None = None
    daily_life: DailyLifeScheduler | None = None
    """Lives the characters' days; started by the embedded server and the projection worker."""
    message_limits: MessageLimits | None = None
    """Messages per minute and per day by tier, counted in Redis when there is one."""
    checkout_throttle: Throttle | None = None
    """Gem-pack checkouts and subscription starts per user and per client address."""
    session_tracker: SessionTracker | None = None
    """One session per user across their sockets and quick reconnects (the WebSocket's)."""
    socket_leases: SocketLeases | None = None
    """The cap on one user's open sockets, counted in Redis when there is one."""
    read_views: ViewStore | None = None
    """Where the API reads the read models when that is not `views`: a replica's."""

    def close(self) -> None:
        if self.session_tracker is not None:
            self.session_tracker.close()
        if self.daily_life is not None:
            self.daily_life.stop()
        self.runner.stop()
        self.views.close()
        if self.read_views is not None:
            self.read_views.close()
        self.memories.close()
        self.application.close()
        if self.redis is not None:
            self.redis.close()


def view_store(store: Store) -> ViewStore:
    if store.views_sqlite is not None:
        return SQLiteViewStore(store.views_sqlite)
    factory = resolve_topic(POSTGRES_FACTORY)(Environment("companion", store.event_env))
    return PostgresViewStore(factory.datastore)


def replica_view_store(settings: Settings, store: Store) -> ViewStore | None:
    """The read models on the replica of COMPANION_READ_DATABASE_URL, if one is set.

    PostgreSQL only; in the primary's schema unless the URL names one of its own.
    """
    if not settings.read_database_url:
        return None
    replica = store_for(settings.model_copy(update={"database_url": settings.read_database_url}))
    if store.backend != "postgres" or replica.backend != "postgres":
        raise SettingsError(
            "COMPANION_READ_DATABASE_URL needs PostgreSQL, as COMPANION_DATABASE_URL"
        )
    env = dict(replica.event_env)
    if "POSTGRES_SCHEMA" in store.event_env:
        env.setdefault("POSTGRES_SCHEMA", store.event_env["POSTGRES_SCHEMA"])
    factory = resolve_topic(POSTGRES_FACTORY)(Environment("companion", env))
    return PostgresReplicaViews(factory.datastore)


def bootstrap(
    settings: Settings | None = None,
    *,
    chat_model: ChatModel | None = None,
    passwords: Passwords | None = None,
    create_store: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> Companion:
    """Wire a Companion from settings.

    The store's recorded encoding is checked against the cipher settings before
    anything else touches the log (StoreKeyMismatch). With `create_store=False`
    (commands that only read) a store that does not exist is an error
    (StoreMissing) and nothing is created. A `clock` is the use cases' time (a
    simulation's, say) instead of the wall clock's.
    """
    settings = settings or Settings()
    gateway = payment_gateway(settings)
    if clock is not None and isinstance(gateway, SandboxGateway):
        gateway = SandboxGateway(clock=lambda: clock().timestamp())
    chat_model = chat_model or chat_model_for(settings)
    store = store_for(settings)
    read_views = replica_view_store(settings, store)
    env = dict(store.event_env)
    if store.sqlite_path is not None:
        if create_store:
            store.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        elif not store.sqlite_path.is_file():
            raise _missing(store)
    if not create_store:
        env["CREATE_TABLE"] = "n"
    client = (
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
        if settings.redis_url
        else None
    )
    application = CompanionApplication(env)
    uow = EventStoreUnitOfWork(application, application.aggregates, clock=clock)
    accounts = Accounts(
        uow,
        passwords=passwords
        or Argon2Passwords(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            max_concurrent=settings.password_hashing_concurrency,
        ),
        login_throttle=login_throttle(settings, client),
        password_throttle=throttle(password_policy(settings), settings, client),
        registration_throttle=throttle(registration_policy(settings), settings, client),
    )
    commerce = Commerce(uow)
    try:
        if not create_store and not _has_events(application):
            raise _missing(store)
        verify_store_encoding(application, store.event_env)
        if create_store and settings.catalogue_defaults:
            commerce.load_default_catalogue()
    except BaseException:
        application.close()
        raise
    feelings = Feelings(uow, sentiment=LexiconSentimentScorer())
    memories = Memories(uow, memory_settings(settings))
    # One line of turns per conversation, shared by the turn, swipes and choices.
    conversations = ConversationQueue()
    model_call = ModelCall(chat_model)
    views = view_store(store)
    read_models = ReadModels()
    runner = ProjectionRunner(
        application.recorder,
        application.mapper,
        views,
        read_models.all(),
        batch_size=settings.projection_batch_size,
        poll_interval=settings.projection_poll_interval,
        heartbeat_interval=settings.projection_heartbeat_interval,
    )
    uow.on_saved = runner.notify
    daily_life = DailyLifeScheduler(
        uow,
        partial(read_models.emotion_states.characters, views),
        seed=settings.daily_life_seed,
        interval=settings.daily_life_interval,
        clock=clock,
    )
    log.info("companion.bootstrapped", backend=store.backend)
    return Companion(
        settings,
        store,
        application,
        uow,
        accounts=accounts,
        characters=Characters(uow, images=FileCardImages(settings.data_dir / "card-images")),
        chat=CountedChat(uow, model_call, feelings, memories, conversations),
        alternatives=Alternatives(uow, model_call, feelings, memories, conversations),
        sessions=Sessions(uow),
        feelings=feelings,
        memories=memories,
        commerce=commerce,
        payments=Payments(uow, gateway),
        model_call=model_call,
        views=views,
        read_models=read_models,
        runner=runner,
        redis=client,
        daily_life=daily_life,
        checkout_throttle=throttle(checkout_policy(settings), settings, client),
        message_limits=MessageLimits(
            accounts,
            RedisMessageLimiter(client, prefix=settings.resolved_redis_prefix() + "rate:")
            if client is not None
            else MemoryMessageLimiter(),
            per_minute=settings.messages_per_minute,
            per_day=settings.messages_per_day,
        ),
        session_tracker=SessionTracker(Sessions(uow), settings.session_reconnect_seconds),
        socket_leases=SocketLeases(
            settings.ws_max_sockets_per_user,
            client,
            prefix=settings.resolved_redis_prefix() + "sockets:",
        ),
        read_views=read_views,
    )


def payment_gateway(settings: Settings) -> PaymentGateway:
    """The sandbox by default; Stripe when COMPANION_PAYMENTS=stripe, with all it needs."""
    if settings.payments != "stripe":
        return SandboxGateway()
    needed = (
        ("STRIPE_SECRET_KEY", settings.stripe_secret_key),
        ("STRIPE_WEBHOOK_SECRET", settings.stripe_webhook_secret),
        ("COMPANION_STRIPE_PRICE_PREMIUM", settings.stripe_price_premium),
        ("COMPANION_STRIPE_PRICE_ULTIMATE", settings.stripe_price_ultimate),
    )
    missing = [name for name, value in needed if not value]
    if missing or settings.stripe_secret_key is None or settings.stripe_webhook_secret is None:
        raise SettingsError(f"COMPANION_PAYMENTS=stripe needs {', '.join(missing)} to be set")
    return StripeGateway(
        secret_key=settings.stripe_secret_key.get_secret_value(),
        webhook_secret=settings.stripe_webhook_secret.get_secret_value(),
        prices={
            "premium": settings.stripe_price_premium or "",
            "ultimate": settings.stripe_price_ultimate or "",
        },
        api_base=settings.stripe_api_base,
    )


def chat_model_for(settings: Settings) -> ChatModel:
    """The offline responder by default; an OpenAI-compatible model when COMPANION_LLM=openai.

    A key is needed for OpenAI itself; a local server (a base URL) gets a placeholder.
    """
    if settings.llm != "openai":
        return OfflinePersonaResponder()
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if not key and not settings.openai_base_url:
        raise SettingsError(
            "COMPANION_LLM=openai needs OPENAI_API_KEY to be set"
            " (or COMPANION_OPENAI_BASE_URL for a local server that needs no key)"
        )
    log.info(
        "chat_model.openai",
        model=settings.openai_model,
        base_url=settings.openai_base_url or "https://api.openai.com/v1",
    )
    return OpenAIChatModel(
        api_key=key or NO_KEY,
        model=settings.openai_model,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_seconds,
        retries=settings.llm_retries,
        deadline=settings.llm_deadline_seconds,
        first_token_timeout=settings.llm_first_token_seconds,
        budget=PromptBudget(
            prompt_tokens=settings.prompt_budget_tokens,
            context_tokens=settings.model_context_tokens,
            reply_tokens=settings.reply_max_tokens,
        ),
    )


@cache
def shared_lemmatizer() -> MorphologicalLemmatizer:
    """One analyzer per process: its dictionary is loaded once, at the first message."""
    return MorphologicalLemmatizer()


def memory_settings(settings: Settings) -> MemorySettings:
    """Memories are found by the rules, and by the model too when a real one is configured;
    with an embeddings model, they get vectors too."""
    extractor = None
    if settings.llm == "openai" and settings.memory_model_extraction:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        extractor = OpenAIMemoryExtractor(
            api_key=key or NO_KEY,
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            timeout=settings.memory_extraction_timeout_seconds,
        )
    embedder = query_embedder = None
    if settings.llm == "openai" and settings.openai_embedding_model:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        embedder = OpenAIEmbedder(
            api_key=key or NO_KEY,
            model=settings.openai_embedding_model,
            base_url=settings.openai_base_url,
            timeout=settings.memory_extraction_timeout_seconds,
        )
        # The message's vector is waited for in the turn: a short timeout of its own.
        query_embedder = replace(embedder, timeout=settings.memory_embedding_timeout_seconds)
    return MemorySettings(
        recall_k=settings.memory_recall_k,
        capacity=settings.memory_capacity,
        lemmatizer=shared_lemmatizer(),
        extractor=extractor,
        embedder=embedder,
        query_embedder=query_embedder,
        min_similarity=settings.memory_embedding_min_similarity,
    )


def throttle(policy: ThrottlePolicy, settings: Settings, client: redis.Redis | None) -> Throttle:
    """Shared by every API process through Redis when there is one, else this process's."""
    if client is not None:
        prefix = settings.resolved_redis_prefix() + "throttle:"
        return CountedThrottle(RedisThrottle(client, policy, prefix=prefix), policy.name)
    return CountedThrottle(MemoryThrottle(policy), policy.name)


def login_throttle(settings: Settings, client: redis.Redis | None) -> LoginThrottle:
    """Failed logins per email typed and per client address."""
    policy = ThrottlePolicy(
        name="login",
        per_account=settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
        window_seconds=settings.login_failure_window_seconds,
    )
    return throttle(policy, settings, client)


def password_policy(settings: Settings) -> ThrottlePolicy:
    """Wrong current passwords per user, within the failed logins' window."""
    return ThrottlePolicy(
        name="password",
        per_account=settings.password_change_max_failures_per_account,
        per_address=None,
        window_seconds=settings.login_failure_window_seconds,
    )


def registration_policy(settings: Settings) -> ThrottlePolicy:
    """Sign-ups per client address, and as many per email attempted."""
    return ThrottlePolicy(
        name="registration",
        per_account=settings.registrations_per_address,
        per_address=settings.registrations_per_address,
        window_seconds=settings.registration_window_seconds,
    )


def checkout_policy(settings: Settings) -> ThrottlePolicy:
    """Gem-pack checkouts and subscription starts per user and per client address."""
    return ThrottlePolicy(
        name="checkout",
        per_account=settings.checkouts_per_account,
        per_address=settings.checkouts_per_address,
        window_seconds=settings.checkout_window_seconds,
    )


def _missing(store: Store) -> StoreMissing:
    return StoreMissing(
        f"no event store at {store.url}: set COMPANION_DATABASE_URL (or --database-url)"
        " to the store to read"
    )


def _has_events(application: CompanionApplication) -> bool:
    """Whether the store's events table exists (a SQLite file is checked before)."""
    datastore = getattr(application.recorder, "datastore", None)
    if not isinstance(datastore, PostgresDatastore):
        return True
    table = f"{datastore.schema}.{application.recorder.events_table_name}"  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("SELECT to_regclass(%s) AS found", (table,))
        row = cursor.fetchone()
    return row is not None and row["found"] is not None
