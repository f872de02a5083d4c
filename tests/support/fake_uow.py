"""The product's use cases over the in-memory unit of work: no store, no network, milliseconds.

Built as the composition root builds them, with the offline chat model and the
sandbox payment gateway; the ports with no offline adapter cheap enough (the
password hasher, the login throttle) are small fakes here.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from companion.adapters.llm.offline import OfflinePersonaResponder
from companion.adapters.payments.sandbox import SandboxGateway
from companion.app.accounts import Accounts
from companion.app.alternatives import Alternatives
from companion.app.characters import Characters
from companion.app.chat import Chat
from companion.app.commerce import Commerce
from companion.app.conversation_queue import ConversationQueue
from companion.app.fake_unit_of_work import FakeUnitOfWork
from companion.app.feelings import Feelings
from companion.app.memories import Memories
from companion.app.model_call import ModelCall
from companion.app.payments import Payments
from companion.domain.characters import Persona
from companion.domain.chat import ChatModel
from tests.support.personas import HANA

PASSWORD = "correct horse battery"


class PlainPasswords:
    """Passwords kept as they were typed, behind a prefix: a hash in name only."""

    def hash(self, password: str) -> str:
        return f"plain:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"plain:{password}"

    def needs_rehash(self, password_hash: str) -> bool:
        return False


class OpenThrottle:
    """A login throttle that never makes anyone wait."""

    def admit(self, *, account: str, address: str | None) -> int:
        return 0

    def succeeded(self, *, account: str, address: str | None) -> None:
        pass

    def withdraw(self, *, account: str, address: str | None) -> None:
        pass


@dataclass
class FakeCompanion:
    """The contexts a Companion exposes, on one FakeUnitOfWork."""

    uow: FakeUnitOfWork
    accounts: Accounts
    characters: Characters
    chat: Chat
    alternatives: Alternatives
    feelings: Feelings
    memories: Memories
    commerce: Commerce
    payments: Payments
    model_call: ModelCall


def fake_companion(
    chat_model: ChatModel | None = None, uow: FakeUnitOfWork | None = None
) -> FakeCompanion:
    uow = uow or FakeUnitOfWork()
    # One line of turns per conversation, shared by the turn, swipes and choices.
    conversations = ConversationQueue()
    model_call = ModelCall(chat_model or OfflinePersonaResponder())
    feelings = Feelings(uow)
    memories = Memories(uow)
    return FakeCompanion(
        uow=uow,
        accounts=Accounts(uow, passwords=PlainPasswords(), login_throttle=OpenThrottle()),
        characters=Characters(uow),
        chat=Chat(uow, model_call, feelings, memories, conversations),
        alternatives=Alternatives(uow, model_call, feelings, memories, conversations),
        feelings=feelings,
        memories=memories,
        commerce=Commerce(uow),
        payments=Payments(uow, SandboxGateway()),
        model_call=model_call,
    )


def user_with_character(companion: FakeCompanion) -> tuple[UUID, UUID]:
    """A new user, and a character of theirs."""
    user_id = companion.accounts.register(
        email=f"{uuid4().hex[:8]}@example.com", password=PASSWORD, name="Aoi", nickname="Aoi"
    )
    character_id, _ = companion.characters.create_character(
        user_id=user_id, persona=Persona.parse(**HANA)
    )
    return user_id, character_id
