"""After any sequence of commands, a projection rebuilt from the log equals the live one.

Commands (registrations, characters, chat messages with and without client
retries) are interleaved with single runner steps and rebuilds, under small
batch sizes, so that the live projections are built in many different slices.
"""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from companion.app.bootstrap import Companion
from companion.domain.conversations import Conversation
from companion.domain.errors import IdempotencyConflict
from companion.domain.identity import conversation_id
from tests.support.companions import Companions
from tests.support.read_models import all_messages, dumps
from tests.support.users import persona, register


@dataclass(frozen=True)
class Register:
    pass


@dataclass(frozen=True)
class CreateCharacter:
    user: int


@dataclass(frozen=True)
class Send:
    user: int
    character: int
    text: str
    client_message_id: str | None


@dataclass(frozen=True)
class Step:
    projection: int


@dataclass(frozen=True)
class Rebuild:
    projection: int


Command = Register | CreateCharacter | Send | Step | Rebuild

texts = st.one_of(
    st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        min_size=1,
        max_size=30,
    ).filter(str.strip),
    st.sampled_from(["おはよう 😊", "I ❤️ ramen 🍜", "👩‍👩‍👧‍👦", "  spaced out  ", "今日は雨☔"]),
)
pick = st.integers(0, 3)
send = st.builds(
    Send,
    user=pick,
    character=pick,
    text=texts,
    client_message_id=st.none() | st.sampled_from(["c-1", "c-2", "c-3"]),
)
by_kind: dict[str, st.SearchStrategy[Command]] = {
    "send": send,
    "step": st.builds(Step, st.integers(0, 1)),
    "register": st.just(Register()),
    "character": st.builds(CreateCharacter, pick),
    "rebuild": st.builds(Rebuild, st.integers(0, 1)),
}
# Someone is always there to chat from the start; messages and steps come most often.
commands = st.lists(
    st.sampled_from(["send"] * 4 + ["step"] * 2 + ["register", "character", "rebuild"]).flatmap(
        by_kind.__getitem__
    ),
    min_size=8,
    max_size=40,
).map(lambda story: [Register(), CreateCharacter(0), *story])

# Each example builds its own companion on an empty store from the factory,
# so the function-scoped factory fixture is shared safely by the examples.
examples = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Story:
    """Plays commands against a companion and remembers what should have been stored."""

    def __init__(self, companion: Companion) -> None:
        self.companion = companion
        self.users: list[UUID] = []
        self.characters: dict[UUID, list[UUID]] = {}
        self.sent: dict[UUID, list[str]] = {}
        self.by_client_id: dict[tuple[UUID, str], tuple[UUID, str]] = {}

    def play(self, command: Command) -> None:
        runner = self.companion.runner
        projections = self.companion.read_models.all()
        match command:
            case Register():
                self.users.append(register(self.companion, f"user{len(self.users)}@example.org"))
            case CreateCharacter(user) if self.users:
                user_id = self.users[user % len(self.users)]
                character_id, _ = self.companion.characters.create_character(
                    user_id=user_id, persona=persona()
                )
                self.characters.setdefault(user_id, []).append(character_id)
            case Send(user, character, text, client_message_id) if self.characters:
                owners = list(self.characters)
                user_id = owners[user % len(owners)]
                owned = self.characters[user_id]
                character_id = owned[character % len(owned)]
                conv_id = conversation_id(user_id, character_id)
                retried = self.by_client_id.get((conv_id, client_message_id or ""))
                if retried is not None and retried[1] != text.strip():
                    # The same client id for another text is refused, and stores nothing.
                    with pytest.raises(IdempotencyConflict):
                        self.companion.chat.send_message(
                            user_id=user_id,
                            character_id=character_id,
                            text=text,
                            client_message_id=client_message_id,
                        )
                    return
                turn = self.companion.chat.send_message(
                    user_id=user_id,
                    character_id=character_id,
                    text=text,
                    client_message_id=client_message_id,
                )
                if retried is not None:
                    assert turn.user_message_id == retried[0]
                    return
                self.sent.setdefault(conv_id, []).append(text.strip())
                if client_message_id is not None:
                    self.by_client_id[(conv_id, client_message_id)] = (
                        turn.user_message_id,
                        text.strip(),
                    )
            case Step(projection):
                runner.step(projections[projection])
            case Rebuild(projection):
                runner.rebuild(projections[projection])
            case _:
                pass  # nobody to do it for yet

    def check(self) -> None:
        companion = self.companion
        companion.runner.run_once()
        conversations = companion.read_models.conversations
        for conv_id, sent in self.sent.items():
            messages = all_messages(companion, conv_id, limit=5)
            users = [m for m in reversed(messages) if m.sender == "user"]
            assert [m.text for m in users] == sent
            replies = [m.in_reply_to for m in messages if m.sender == "character"]
            assert Counter(replies) == Counter(m.message_id for m in users)
            view = conversations.conversation(companion.views, conv_id)
            assert view is not None
            assert view.message_count == 2 * len(sent)
        owned = companion.read_models.characters
        for user_id, characters in self.characters.items():
            assert [c.character_id for c in owned.owned_by(companion.views, user_id)] == characters

        live = dumps(companion)
        for projection in companion.read_models.all():
            companion.runner.rebuild(projection)
        assert dumps(companion) == live

        for conv_id in self.sent:
            assert _state(self._replayed(conv_id)) == _state(self._replayed(conv_id))
            assert _state(self._replayed(conv_id)) == _state(self._folded(conv_id))

    def _replayed(self, conv_id: UUID) -> Conversation:
        conversation: Any = self.companion.application.repository.get(conv_id)
        assert isinstance(conversation, Conversation)
        return conversation

    def _folded(self, conv_id: UUID) -> Conversation:
        conversation: Any = None
        domain_event: Any
        for domain_event in self.companion.application.events.get(conv_id):
            conversation = domain_event.mutate(conversation)
        assert isinstance(conversation, Conversation)
        return conversation


def _state(conversation: Conversation) -> dict[str, Any]:
    state = dict(vars(conversation))
    state.pop("_pending_events", None)
    state["recent_turns"] = conversation.recent_turns()
    return state


def play_story(companions: Companions, batch_size: int, story: list[Command]) -> None:
    with closing(companions(projection_batch_size=batch_size)) as companion:
        played = Story(companion)
        for command in story:
            played.play(command)
        played.check()
        event(f"messages: {sum(map(len, played.sent.values()))}")


@settings(examples, max_examples=25)
@given(batch_size=st.integers(1, 7), story=commands)
def test_rebuilt_projections_equal_live_ones_on_memory(
    memory_companions: Companions, batch_size: int, story: list[Command]
) -> None:
    play_story(memory_companions, batch_size, story)


@settings(examples, max_examples=25)
@given(batch_size=st.integers(1, 7), story=commands)
def test_rebuilt_projections_equal_live_ones_on_sqlite(
    sqlite_companions: Companions, batch_size: int, story: list[Command]
) -> None:
    play_story(sqlite_companions, batch_size, story)


@pytest.mark.postgres
@settings(examples, max_examples=5)
@given(batch_size=st.integers(1, 7), story=commands)
def test_rebuilt_projections_equal_live_ones_on_postgres(
    postgres_companions: Companions, batch_size: int, story: list[Command]
) -> None:
    play_story(postgres_companions, batch_size, story)
