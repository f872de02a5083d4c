"""The OpenAI adapter through the real SDK, over real HTTP and SSE, against a local stand-in.

Nothing inside our code is patched: the adapter is given the stand-in's
address, a short timeout, a seeded jitter and a sleep that records its waits
instead of waiting (injected, as in production it is asyncio.sleep).
"""

from __future__ import annotations

import asyncio

import pytest

from companion.adapters.llm.openai_chat import OpenAIChatModel
from companion.domain.chat import ChatDelta, ChatDone, ChatRequest, ChatRestart, ChatStreamItem
from companion.domain.replies import fallback_reply
from tests.support.openai_model import PERSONA, REQUEST, Waits, model_for
from tests.support.openai_standin import MODEL, Status, Stream, serving

FALLBACK = fallback_reply(PERSONA, "Ai", REQUEST.user_text)


def streamed(model: OpenAIChatModel, request: ChatRequest = REQUEST) -> list[ChatStreamItem]:
    async def collect() -> list[ChatStreamItem]:
        return [item async for item in model.stream(request)]

    return asyncio.run(collect())


def test_a_normal_stream_arrives_in_deltas_then_one_done_with_usage() -> None:
    waits = Waits()
    with serving(Stream(pieces=("Hello", " there", ", Ai!"), usage=(42, 7))) as standin:
        items = streamed(model_for(standin, waits))

    assert [item.text for item in items if isinstance(item, ChatDelta)] == [
        "Hello",
        " there",
        ", Ai!",
    ]
    done = items[-1]
    assert isinstance(done, ChatDone)
    assert done.reply.text == "Hello there, Ai!"
    assert (done.reply.model, done.reply.prompt_tokens, done.reply.completion_tokens) == (
        MODEL,
        42,
        7,
    )
    assert not done.reply.fallback
    assert done.reply.first_token_ms is not None
    assert done.reply.first_token_ms >= 0
    assert len(standin.requests) == 1
    assert waits.seconds == []


def test_the_request_carries_the_built_prompt_streaming_and_usage() -> None:
    with serving(Stream()) as standin:
        model_for(standin, Waits()).reply(REQUEST)

    body = standin.requests[0]
    assert body["model"] == MODEL
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0]["role"] == "system"
    assert "Hana Sato" in body["messages"][0]["content"]
    assert body["messages"][-1] == {"role": "user", "content": REQUEST.user_text}


def test_without_usage_from_the_server_the_counts_are_estimated() -> None:
    with serving(Stream(pieces=("one two three",), usage=None)) as standin:
        reply = model_for(standin, Waits()).reply(REQUEST)

    assert reply.text == "one two three"
    assert not reply.fallback
    assert reply.prompt_tokens > 0
    assert reply.completion_tokens > 0


def test_a_slow_server_times_out_and_the_retry_answers() -> None:
    waits = Waits()
    with serving(Stream(delay=1.5), Stream(pieces=("Sorry, I was slow",))) as standin:
        reply = model_for(standin, waits, timeout=0.3).reply(REQUEST)

    assert reply.text == "Sorry, I was slow"
    assert not reply.fallback
    assert len(standin.requests) == 2
    assert len(waits.seconds) == 1


def test_a_500_is_retried_with_a_jittered_backoff() -> None:
    waits = Waits()
    with serving(Status(500), Status(503), Stream(pieces=("Back!",))) as standin:
        reply = model_for(standin, waits, backoff_base=0.5).reply(REQUEST)

    assert reply.text == "Back!"
    assert not reply.fallback
    assert len(standin.requests) == 3
    first, second = waits.seconds
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


def test_a_429_waits_as_long_as_retry_after_says() -> None:
    waits = Waits()
    with serving(Status(429, retry_after="4"), Stream(pieces=("There you are",))) as standin:
        reply = model_for(standin, waits).reply(REQUEST)

    assert reply.text == "There you are"
    assert len(standin.requests) == 2
    assert waits.seconds == [4.0]


def test_a_retry_after_beyond_the_cap_is_capped() -> None:
    waits = Waits()
    with serving(Status(429, retry_after="3600"), Stream()) as standin:
        model_for(standin, waits, retry_after_cap=10.0).reply(REQUEST)

    assert waits.seconds == [10.0]


def test_a_400_is_not_retried_and_the_reply_is_the_fallback() -> None:
    waits = Waits()
    with serving(Status(400), Stream()) as standin:
        reply = model_for(standin, waits).reply(REQUEST)

    assert reply.fallback
    assert reply.text == FALLBACK
    assert len(standin.requests) == 1
    assert waits.seconds == []


def test_after_the_last_retry_the_reply_is_the_in_character_fallback() -> None:
    waits = Waits()
    with serving(Status(502)) as standin:
        reply = model_for(standin, waits, retries=3).reply(REQUEST)

    assert reply.fallback
    assert reply.text == FALLBACK
    assert reply.model == MODEL
    assert len(standin.requests) == 4
    assert len(waits.seconds) == 3


def test_a_stream_cut_in_the_middle_is_retried_and_its_text_voided() -> None:
    with serving(
        Stream(pieces=("Half", " a", " thought"), cut_after=2), Stream(pieces=("Whole",))
    ) as standin:
        items = streamed(model_for(standin, Waits()))

    assert [type(item) for item in items] == [
        ChatDelta,
        ChatDelta,
        ChatRestart,
        ChatDelta,
        ChatDone,
    ]
    done = items[-1]
    assert isinstance(done, ChatDone)
    assert done.reply.text == "Whole"
    assert len(standin.requests) == 2


def test_streams_always_cut_end_in_the_fallback_never_the_partial_text() -> None:
    with serving(Stream(pieces=("Half", " a", " thought"), cut_after=2)) as standin:
        reply = model_for(standin, Waits(), retries=2).reply(REQUEST)

    assert reply.fallback
    assert reply.text == FALLBACK
    assert "Half" not in reply.text
    assert len(standin.requests) == 3


def test_a_stream_ending_cleanly_before_the_model_finished_is_not_a_reply() -> None:
    # No finish_reason, no [DONE]: the body ends well-formed but the reply is unfinished.
    with serving(Stream(pieces=("Half", " more"), garbage="data: [DONE]", usage=None)) as standin:
        reply = model_for(standin, Waits(), retries=1).reply(REQUEST)

    assert reply.fallback
    assert "Half" not in reply.text
    assert len(standin.requests) == 2


@pytest.mark.parametrize("garbage", ["data: {not json", 'data: {"choices": 7}'])
def test_garbage_in_the_stream_fails_the_attempt_and_the_retry_answers(garbage: str) -> None:
    with serving(
        Stream(pieces=("a", "b", "c", "d"), garbage=garbage), Stream(pieces=("Clean",))
    ) as standin:
        reply = model_for(standin, Waits()).reply(REQUEST)

    assert reply.text == "Clean"
    assert not reply.fallback
    assert len(standin.requests) == 2


def test_reply_refuses_to_run_inside_an_event_loop() -> None:
    model = OpenAIChatModel(api_key="x", base_url="http://127.0.0.1:9/v1")

    async def inside() -> None:
        model.reply(REQUEST)

    with pytest.raises(RuntimeError, match="stream"):
        asyncio.run(inside())


def test_the_api_key_is_not_in_the_models_repr() -> None:
    assert "sk-secret-key" not in repr(OpenAIChatModel(api_key="sk-secret-key"))
