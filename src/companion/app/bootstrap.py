"""The composition root: settings in, a wired application and its read side out."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
import structlog
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment

from companion.adapters.llm.offline import OfflinePersonaResponder
from companion.adapters.passwords import Argon2Passwords
from companion.app.application import CompanionApplication
from companion.app.persistence import Store, store_for
from companion.app.settings import Settings
from companion.domain.chat import ChatModel
from companion.domain.ports import Passwords
from projections.base import Projection
from projections.characters import CharactersProjection
from projections.conversations import ConversationsProjection
from projections.runner import ProjectionRunner
from projections.store import PostgresViewStore, SQLiteViewStore, ViewStore

log = structlog.get_logger(__name__)


@dataclass
class ReadModels:
    conversations: ConversationsProjection = field(default_factory=ConversationsProjection)
    characters: CharactersProjection = field(default_factory=CharactersProjection)

    def all(self) -> list[Projection]:
        return [self.conversations, self.characters]


@dataclass
class Companion:
    """Everything a process needs: the write side, the read side and the runner."""

    settings: Settings
    store: Store
    application: CompanionApplication
    views: ViewStore
    read_models: ReadModels
    runner: ProjectionRunner
    redis: redis.Redis | None = None

    def close(self) -> None:
        self.runner.stop()
        self.views.close()
        self.application.close()
        if self.redis is not None:
            self.redis.close()


def view_store(store: Store) -> ViewStore:
    if store.views_sqlite is not None:
        return SQLiteViewStore(store.views_sqlite)
    factory = PostgresFactory(Environment("companion", store.event_env))
    return PostgresViewStore(factory.datastore)


def bootstrap(
    settings: Settings | None = None,
    *,
    chat_model: ChatModel | None = None,
    passwords: Passwords | None = None,
) -> Companion:
    settings = settings or Settings()
    store = store_for(settings)
    application = CompanionApplication(
        store.event_env,
        passwords=passwords
        or Argon2Passwords(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
        ),
        chat_model=chat_model or OfflinePersonaResponder(),
    )
    views = view_store(store)
    read_models = ReadModels()
    runner = ProjectionRunner(
        application.recorder,
        application.mapper,
        views,
        read_models.all(),
        batch_size=settings.projection_batch_size,
        poll_interval=settings.projection_poll_interval,
    )
    application.on_saved = runner.notify
    log.info("companion.bootstrapped", backend=store.backend)
    client = (
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
        if settings.redis_url
        else None
    )
    return Companion(settings, store, application, views, read_models, runner, client)
