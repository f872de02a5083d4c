"""Streams of replies and how a reply is recorded: the offline responder streams the
reply it would give, and CompanionReplied carries the first-token latency (None for
events stored before it existed)."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from eventsourcing.persistence import (
    StoredEvent,
)

from companion.adapters.llm.offline import OfflinePersonaResponder, stream_pieces
from companion.domain.characters import Persona
from companion.domain.chat import ChatDelta, ChatDone, ChatRequest, ChatStreamItem
from companion.domain.conversations import Conversation
from tests.support.mapper import mapper
from tests.support.personas import HANA

PERSONA = Persona.parse(**HANA)


def streamed(request: ChatRequest) -> list[ChatStreamItem]:
    async def collect() -> list[ChatStreamItem]:
        return [item async for item in OfflinePersonaResponder().stream(request)]

    return asyncio.run(collect())


def test_the_offline_responder_streams_the_reply_it_gives_then_one_done() -> None:
    for text in (
        "I played tennis today, it was great!",
        "こんにちは、今日はテニスをしたよ。楽しかった！",
    ):
        request = ChatRequest(persona=PERSONA, user_nickname="Ai", user_text=text)
        items = streamed(request)
        reply = OfflinePersonaResponder().reply(request)

        deltas = [item.text for item in items if isinstance(item, ChatDelta)]
        assert len(deltas) > 1
        assert "".join(deltas) == reply.text
        assert items[-1] == ChatDone(reply)
        assert items == streamed(request)


def test_stream_pieces_rejoin_into_the_text() -> None:
    for text in ("Hello there, Ai! How are you?", "ごめんね、アイ。今日はね！", "  spaced  out  "):
        assert "".join(stream_pieces(text)) == text


def test_a_reply_records_its_first_token_latency() -> None:
    conversation = Conversation(user_id=uuid4(), character_id=uuid4())
    message = conversation.send_user_message("hi", client_message_id=None, message_id=uuid4())
    conversation.reply(
        in_reply_to=message,
        text="hello",
        model="m",
        latency_ms=900,
        prompt_tokens=10,
        completion_tokens=2,
        fallback=False,
        first_token_ms=120,
    )
    replied = conversation.collect_events()[-1]
    assert replied.first_token_ms == 120  # type: ignore[attr-defined]


def test_a_reply_stored_before_first_token_latency_existed_still_loads() -> None:
    conversation = Conversation(user_id=uuid4(), character_id=uuid4())
    message = conversation.send_user_message("hi", client_message_id=None, message_id=uuid4())
    conversation.reply(
        in_reply_to=message,
        text="hello",
        model="m",
        latency_ms=900,
        prompt_tokens=10,
        completion_tokens=2,
        fallback=False,
        first_token_ms=120,
    )
    events = mapper()
    stored = events.to_stored_event(conversation.collect_events()[-1])
    state = events.transcoder.decode(stored.state)
    assert state.pop("class_version") == 3
    del state["first_token_ms"]
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=events.transcoder.encode(state),
    )

    loaded = events.to_domain_event(old)

    assert loaded.first_token_ms is None  # type: ignore[attr-defined]
    assert loaded.text == "hello"  # type: ignore[attr-defined]
    assert loaded.latency_ms == 900  # type: ignore[attr-defined]
