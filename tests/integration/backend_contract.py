"""What every backend must do, written once; test_backends.py runs it on each backend.

A subclass names its backend by overriding the `companions` fixture with one of
the factories of tests/integration/conftest.py, and says how to read the raw
stored events.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from companion.app.admins import Admins
from companion.app.bootstrap import Companion
from companion.domain.catalogue import DEFAULT_CATALOGUE
from companion.domain.conversations import Conversation
from companion.domain.errors import (
    CharacterNotFound,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidInput,
)
from companion.domain.identity import conversation_id
from companion.domain.users import User
from projections.conversations import ConversationsProjection
from projections.runner import ProjectionRunner
from projections.store import ViewCursor
from tests.support.companions import Companions
from tests.support.concurrency import run_together
from tests.support.read_models import all_messages, dumps
from tests.support.users import PASSWORD, persona, register, user_with_character


def buy_and_wear(companion: Companion, user_id: UUID, character_id: UUID) -> None:
    """Gems granted, an item bought with them and worn: a row in every store table."""
    item = DEFAULT_CATALOGUE[0]
    companion.commerce.load_default_catalogue()
    companion.commerce.credit_gems(user_id, 500, kind="grant", reference="welcome")
    companion.commerce.purchase(
        user_id=user_id, item_id=item.item_id, character_id=character_id, idempotency_key="1"
    )
    companion.commerce.equip(
        user_id=user_id, character_id=character_id, slot=item.category, item_id=item.item_id
    )


class ConversationsV2(ConversationsProjection):
    """The next version of the conversations read model: same handlers, its own tables."""

    version = ConversationsProjection.version + 1


class BackendContract:
    @pytest.fixture
    def companions(self) -> Companions:
        raise NotImplementedError("a backend's test class provides its factory")

    @pytest.fixture
    def companion(self, companions: Companions) -> Companion:
        return companions()

    def stored_states(self, companion: Companion) -> list[bytes]:
        """The state of every stored event, as the backend keeps it at rest."""
        raise NotImplementedError

    # -- accounts ----------------------------------------------------------------------

    def test_a_registered_user_authenticates_with_their_password(
        self, companion: Companion
    ) -> None:
        user_id = register(companion, "aoi@example.org")

        assert (
            companion.accounts.authenticate(email="aoi@example.org", password=PASSWORD).user_id
            == user_id
        )
        assert (
            companion.accounts.authenticate(email=" AOI@Example.org ", password=PASSWORD).user_id
            == user_id
        )
        assert companion.accounts.user(user_id).email == "aoi@example.org"

    @pytest.mark.parametrize(
        "variant",
        ["aoi@example.org", "AOI@EXAMPLE.ORG", "  Aoi@Example.Org\t", "\naoi@example.ORG "],
    )
    def test_an_email_registers_once_whatever_its_case_or_spacing(
        self, companion: Companion, variant: str
    ) -> None:
        register(companion, "aoi@example.org")

        with pytest.raises(EmailAlreadyRegistered):
            register(companion, variant)

    def test_a_wrong_password_is_refused(self, companion: Companion) -> None:
        register(companion, "aoi@example.org")

        with pytest.raises(InvalidCredentials):
            companion.accounts.authenticate(email="aoi@example.org", password=PASSWORD + "!")

    def test_an_unknown_email_is_refused_like_a_wrong_password(self, companion: Companion) -> None:
        register(companion, "aoi@example.org")

        with pytest.raises(InvalidCredentials):
            companion.accounts.authenticate(email="ren@example.org", password=PASSWORD)

    def test_concurrent_registrations_of_one_email_let_exactly_one_win(
        self, companion: Companion
    ) -> None:
        results = run_together(
            8, lambda i: register(companion, f"  Same@Example.org{' ' * i}".upper())
        )

        winners = [r for r in results if isinstance(r, UUID)]
        assert len(winners) == 1, results
        assert all(isinstance(r, EmailAlreadyRegistered) for r in results if r not in winners)
        winner = companion.accounts.authenticate(
            email="same@example.org", password=PASSWORD
        ).user_id
        assert winner == winners[0]
        # The losers' users were not saved either: the user and its claim are saved together.
        registered = companion.application.recorder.select_notifications(
            start=1, limit=100, topics=[get_topic(User.Registered)]
        )
        assert len(registered) == 1

    # -- characters --------------------------------------------------------------------

    def test_a_character_is_listed_for_its_owner_only(self, companion: Companion) -> None:
        owner, character_id = user_with_character(companion, "aoi@example.org")
        stranger = register(companion, "ren@example.org")

        companion.runner.run_once()

        characters = companion.read_models.characters
        assert [c.character_id for c in characters.owned_by(companion.views, owner)] == [
            character_id
        ]
        assert characters.owned_by(companion.views, stranger) == []
        assert characters.get(companion.views, stranger, character_id) is None
        shown = characters.get(companion.views, owner, character_id)
        assert shown is not None
        assert shown.persona["name"] == "Haruto Sato"
        with pytest.raises(CharacterNotFound):
            companion.characters.character(user_id=stranger, character_id=character_id)

    # -- chat --------------------------------------------------------------------------

    def test_a_chat_turn_stores_the_message_and_the_reply(self, companion: Companion) -> None:
        user_id, character_id = user_with_character(companion)

        turn = companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="  おはよう! slept well? 🌸 "
        )

        conv_id = conversation_id(user_id, character_id)
        events: list[Any] = list(companion.application.events.get(conv_id))
        assert [type(e) for e in events] == [
            Conversation.Started,
            Conversation.UserMessageSent,
            Conversation.CompanionReplied,
        ]
        assert events[1].message_id == turn.user_message_id
        assert events[2].message_id == turn.reply_message_id
        assert events[2].in_reply_to == turn.user_message_id
        assert events[2].text == turn.reply_text

        companion.runner.run_once()

        reply, message = all_messages(companion, conv_id)
        assert (message.message_id, message.sender, message.text) == (
            turn.user_message_id,
            "user",
            "おはよう! slept well? 🌸",
        )
        assert (reply.message_id, reply.sender, reply.text) == (
            turn.reply_message_id,
            "character",
            turn.reply_text,
        )
        assert reply.in_reply_to == turn.user_message_id
        assert reply.model == "offline-persona"
        view = companion.read_models.conversations.conversation(companion.views, conv_id)
        assert view is not None
        assert view.message_count == 2

    def test_a_waiting_reader_sees_its_own_turn(self, companion: Companion) -> None:
        user_id, character_id = user_with_character(companion)
        companion.runner.start()

        turn = companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="are you there?"
        )

        assert companion.runner.wait_for(turn.position, ["conversations"], 5)
        messages = all_messages(companion, conversation_id(user_id, character_id))
        assert [m.message_id for m in messages] == [turn.reply_message_id, turn.user_message_id]

    def test_a_retried_message_is_stored_once(self, companion: Companion) -> None:
        user_id, character_id = user_with_character(companion)

        def send() -> Any:
            return companion.chat.send_message(
                user_id=user_id, character_id=character_id, text="hi!", client_message_id="c-1"
            )

        first = send()
        companion.runner.run_once()
        again = send()
        companion.runner.run_once()

        assert again.user_message_id == first.user_message_id
        assert again.reply_message_id == first.reply_message_id
        assert again.reply_text == first.reply_text
        conv_id = conversation_id(user_id, character_id)
        assert [m.message_id for m in all_messages(companion, conv_id)] == [
            first.reply_message_id,
            first.user_message_id,
        ]
        view = companion.read_models.conversations.conversation(companion.views, conv_id)
        assert view is not None
        assert view.message_count == 2

    def test_a_message_that_is_not_valid_unicode_is_refused(self, companion: Companion) -> None:
        user_id, character_id = user_with_character(companion)

        with pytest.raises(InvalidInput):
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text="half an emoji \ud83d"
            )

        assert list(companion.application.events.get(conversation_id(user_id, character_id))) == []

    @pytest.mark.parametrize("limit", [1, 3, 8, 16, 50])
    def test_pages_walk_every_message_once_newest_first(
        self, companion: Companion, limit: int
    ) -> None:
        user_id, character_id = user_with_character(companion)
        turns = [
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text=f"message {i}"
            )
            for i in range(8)
        ]
        companion.runner.run_once()

        pages = []
        before = None
        while True:
            page = companion.read_models.conversations.messages(
                companion.views, conversation_id(user_id, character_id), before=before, limit=limit
            )
            pages.append([m.message_id for m in page.messages])
            if page.next_before is None:
                break
            assert page.next_before == page.messages[-1].message_id
            before = page.next_before

        newest_first = [
            id_ for turn in reversed(turns) for id_ in (turn.reply_message_id, turn.user_message_id)
        ]
        assert [id_ for page in pages for id_ in page] == newest_first
        assert all(0 < len(page) <= limit for page in pages)
        assert len(pages) == -(-len(newest_first) // limit)

    @pytest.mark.parametrize(("writers", "turns_each"), [(2, 1), (6, 5)])
    def test_concurrent_turns_on_one_conversation_lose_nothing(
        self, companion: Companion, writers: int, turns_each: int
    ) -> None:
        user_id, character_id = user_with_character(companion)
        companion.runner.start()

        def chat(writer: int) -> list[Any]:
            return [
                companion.chat.send_message(
                    user_id=user_id, character_id=character_id, text=f"writer {writer} turn {t}"
                )
                for t in range(turns_each)
            ]

        results = run_together(writers, chat)
        companion.runner.stop()
        companion.runner.run_once()

        errors = [r for r in results if isinstance(r, Exception)]
        assert errors == []
        turns = [turn for writer_turns in results for turn in writer_turns]
        messages = all_messages(companion, conversation_id(user_id, character_id), limit=7)
        sent = {m.text: m.message_id for m in messages if m.sender == "user"}
        assert sorted(sent) == sorted(
            f"writer {w} turn {t}" for w in range(writers) for t in range(turns_each)
        )
        replies = Counter(m.in_reply_to for m in messages if m.sender == "character")
        assert replies == Counter(sent.values())
        assert {t.user_message_id for t in turns} == set(sent.values())
        assert len({m.message_id for m in messages}) == len(messages) == 2 * writers * turns_each
        view = companion.read_models.conversations.conversation(
            companion.views, conversation_id(user_id, character_id)
        )
        assert view is not None
        assert view.message_count == len(messages)
        live = dumps(companion)
        for projection in companion.read_models.all():
            companion.runner.rebuild(projection)
        assert dumps(companion) == live

    # -- the read side -----------------------------------------------------------------

    def test_a_rebuilt_projection_equals_the_live_one(self, companion: Companion) -> None:
        for n, email in enumerate(["aoi@example.org", "ren@example.org"]):
            user_id, character_id = user_with_character(companion, email)
            companion.characters.create_character(user_id=user_id, persona=persona("Mio"))
            # Something to remember, so that the memories read model has rows too.
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text="私はいちごが大好きです。"
            )
            for i in range(3 + n):
                turn = companion.chat.send_message(
                    user_id=user_id, character_id=character_id, text=f"{email} says {i} ✨"
                )
            # A swipe, so that every table of the read models has rows to compare.
            companion.alternatives.regenerate_reply(
                user_id=user_id, character_id=character_id, message_id=turn.reply_message_id
            )
            buy_and_wear(companion, user_id, character_id)
            companion.runner.run_once()
        Admins(companion.uow).grant("aoi@example.org")
        companion.runner.run_once()
        live = dumps(companion)
        empty = [
            f"{name}.{table}"
            for name, dump in live.items()
            for table, rows in dump.items()
            if not rows
        ]
        assert not empty, empty

        for projection in companion.read_models.all():
            companion.runner.rebuild(projection)

        assert dumps(companion) == live
        assert all(
            companion.runner.position(p.name) == companion.runner.head()
            for p in companion.read_models.all()
        )

    @pytest.mark.parametrize("fault", ["in_a_handler", "after_the_tracking_write"])
    def test_a_failed_batch_applies_nothing_and_its_retry_applies_everything_once(
        self, companion: Companion, monkeypatch: pytest.MonkeyPatch, fault: str
    ) -> None:
        user_id, character_id = user_with_character(companion)
        runner = companion.runner
        conversations = companion.read_models.conversations
        companion.chat.send_message(user_id=user_id, character_id=character_id, text="first")
        runner.run_once()
        applied = runner.position("conversations")
        before = conversations.dump(companion.views)
        for i in range(3):
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text=f"then {i}"
            )

        if fault == "in_a_handler":
            handlers = ConversationsProjection._handlers
            record_reply = handlers[Conversation.CompanionReplied]
            replies_seen: list[Any] = []

            def fail_at_the_second_reply(self: Any, cursor: Any, event: Any, position: int) -> None:
                record_reply(self, cursor, event, position)
                replies_seen.append(event)
                if len(replies_seen) == 2:
                    raise RuntimeError("the disk is full")

            monkeypatch.setitem(handlers, Conversation.CompanionReplied, fail_at_the_second_reply)
        else:
            advance = companion.views.advance

            def advance_then_fail(cursor: ViewCursor, key: str, position: int) -> None:
                advance(cursor, key, position)
                raise RuntimeError("the connection dropped before the commit")

            monkeypatch.setattr(companion.views, "advance", advance_then_fail)

        with pytest.raises(RuntimeError):
            runner.step(conversations)

        assert conversations.dump(companion.views) == before
        assert runner.position("conversations") == applied

        monkeypatch.undo()
        runner.run_once()

        conv_id = conversation_id(user_id, character_id)
        messages = all_messages(companion, conv_id)
        assert [m.text for m in messages if m.sender == "user"] == [
            "then 2",
            "then 1",
            "then 0",
            "first",
        ]
        assert len({m.message_id for m in messages}) == len(messages) == 8
        view = conversations.conversation(companion.views, conv_id)
        assert view is not None
        assert view.message_count == 8
        assert runner.position("conversations") == runner.head()

    def test_a_new_projection_version_builds_its_own_tables_from_the_whole_log(
        self, companion: Companion
    ) -> None:
        user_id, character_id = user_with_character(companion)
        for i in range(3):
            companion.chat.send_message(
                user_id=user_id, character_id=character_id, text=f"hello {i}"
            )
        companion.runner.run_once()
        v1 = companion.read_models.conversations
        v1_rows, v1_position = v1.dump(companion.views), companion.runner.position(v1.name)

        v2 = ConversationsV2()
        assert set(v2.tables).isdisjoint(v1.tables)
        runner_v2 = ProjectionRunner(
            companion.application.recorder,
            companion.application.mapper,
            companion.views,
            [v2],
            batch_size=2,
        )
        assert v2.key != v1.key
        assert runner_v2.position(v2.name) == 0
        runner_v2.catch_up(v2)

        conv_id = conversation_id(user_id, character_id)
        page = v2.messages(companion.views, conv_id, before=None, limit=100)
        assert len(page.messages) == 6
        assert runner_v2.position(v2.name) == runner_v2.head()
        # Built from the same log, the new version holds the same rows as the old one.
        assert list(v2.dump(companion.views).values()) == list(v1_rows.values())
        assert v1.dump(companion.views) == v1_rows
        assert companion.runner.position(v1.name) == v1_position

    # -- events at rest ----------------------------------------------------------------

    def test_message_text_is_encrypted_at_rest_and_readable_in_projections(
        self, companions: Companions
    ) -> None:
        key = base64.b64encode(os.urandom(32)).decode()
        companion = companions(cipher_key=key)
        user_id, character_id = user_with_character(companion)

        companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="my secret is pistachio-7731 ひみつ"
        )

        states = self.stored_states(companion)
        assert len(states) >= 5
        for state in states:
            assert b"pistachio-7731" not in state
            assert "ひみつ".encode() not in state
            assert b"aoi@example.org" not in state
        companion.runner.run_once()
        messages = all_messages(companion, conversation_id(user_id, character_id))
        assert messages[-1].text == "my secret is pistachio-7731 ひみつ"

    def test_without_a_cipher_key_event_state_is_stored_in_clear(
        self, companion: Companion
    ) -> None:
        user_id, character_id = user_with_character(companion)

        companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="my secret is pistachio-7731"
        )

        assert any(b"pistachio-7731" in state for state in self.stored_states(companion))

    def test_production_refuses_to_start_without_a_cipher_key(self, companions: Companions) -> None:
        with pytest.raises(ValueError, match="COMPANION_CIPHER_KEY"):
            companions.settings(env="production", jwt_secret="s" * 40)
