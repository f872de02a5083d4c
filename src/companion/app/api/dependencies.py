"""What handlers receive: the use cases and read models they use, and the caller's user id.

A handler declares each one it needs by its name (`chat`, `reads`,
`read_your_writes`, …); Litestar provides it from the one Companion the
application was made with. The socket, built once per connection, takes the
Companion itself (ws.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from redis import Redis

from companion.app.accounts import Accounts
from companion.app.alternatives import Alternatives
from companion.app.api.consistency import ReadYourWrites
from companion.app.api.reads import Reads
from companion.app.bootstrap import Companion
from companion.app.characters import Characters
from companion.app.chat import Chat
from companion.app.commerce import Commerce
from companion.app.feelings import Feelings
from companion.app.memories import Memories
from companion.app.message_limits import MessageLimits
from companion.app.payments import Payments
from companion.app.sessions import Sessions
from companion.app.settings import Settings
from companion.app.unit_of_work import EventStoreUnitOfWork
from projections.runner import ProjectionRunner


def provide_companion(state: State) -> Companion:
    companion: Companion = state.companion
    return companion


def provide_user_id(request: Request[UUID, Any, Any]) -> UUID:
    return request.user


def provide_accounts(state: State) -> Accounts:
    return provide_companion(state).accounts


def provide_characters(state: State) -> Characters:
    return provide_companion(state).characters


def provide_chat(state: State) -> Chat:
    return provide_companion(state).chat


def provide_alternatives(state: State) -> Alternatives:
    return provide_companion(state).alternatives


def provide_sessions(state: State) -> Sessions:
    return provide_companion(state).sessions


def provide_feelings(state: State) -> Feelings:
    return provide_companion(state).feelings


def provide_memories(state: State) -> Memories:
    return provide_companion(state).memories


def provide_commerce(state: State) -> Commerce:
    return provide_companion(state).commerce


def provide_payments(state: State) -> Payments:
    return provide_companion(state).payments


def provide_message_limits(state: State) -> MessageLimits | None:
    return provide_companion(state).message_limits


def provide_settings(state: State) -> Settings:
    return provide_companion(state).settings


def provide_uow(state: State) -> EventStoreUnitOfWork:
    return provide_companion(state).uow


def provide_runner(state: State) -> ProjectionRunner:
    return provide_companion(state).runner


def provide_redis(state: State) -> Redis | None:
    return provide_companion(state).redis


def provide_reads(state: State) -> Reads:
    reads: Reads = state.reads
    return reads


def provide_read_your_writes(state: State) -> ReadYourWrites:
    wait: ReadYourWrites = state.read_your_writes
    return wait


def state_for(companion: Companion) -> dict[str, Any]:
    """What the application keeps for its providers: the Companion and the objects built
    once over it."""
    return {
        "companion": companion,
        "reads": Reads.of(companion),
        "read_your_writes": ReadYourWrites.of(companion),
    }


# Every dependency that reaches the store, by its name: a handler that takes one can
# answer 503 when the store is away, and a read can wait for X-Consistency-Position.
STORE_DEPENDENCIES: dict[str, Any] = {
    "companion": provide_companion,
    "accounts": provide_accounts,
    "characters": provide_characters,
    "chat": provide_chat,
    "alternatives": provide_alternatives,
    "sessions": provide_sessions,
    "feelings": provide_feelings,
    "memories": provide_memories,
    "commerce": provide_commerce,
    "payments": provide_payments,
    "message_limits": provide_message_limits,
    "uow": provide_uow,
    "runner": provide_runner,
    "reads": provide_reads,
    "read_your_writes": provide_read_your_writes,
}


def dependencies() -> dict[str, Provide]:
    """The application's dependencies, each provided without a worker thread."""
    provided = {
        **STORE_DEPENDENCIES,
        "settings": provide_settings,
        "redis": provide_redis,
        "user_id": provide_user_id,
    }
    return {name: Provide(provider, sync_to_thread=False) for name, provider in provided.items()}


# Handler parameters that are dependencies, marked so Litestar need not guess.
CompanionDep = NamedDependency[Companion]
UserId = NamedDependency[UUID]
AccountsDep = NamedDependency[Accounts]
CharactersDep = NamedDependency[Characters]
ChatDep = NamedDependency[Chat]
AlternativesDep = NamedDependency[Alternatives]
SessionsDep = NamedDependency[Sessions]
FeelingsDep = NamedDependency[Feelings]
MemoriesDep = NamedDependency[Memories]
CommerceDep = NamedDependency[Commerce]
PaymentsDep = NamedDependency[Payments]
MessageLimitsDep = NamedDependency[MessageLimits | None]
SettingsDep = NamedDependency[Settings]
UnitOfWorkDep = NamedDependency[EventStoreUnitOfWork]
RunnerDep = NamedDependency[ProjectionRunner]
RedisDep = NamedDependency[Redis | None]
ReadsDep = NamedDependency[Reads]
ReadYourWritesDep = NamedDependency[ReadYourWrites]
