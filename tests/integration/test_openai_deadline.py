"""One deadline bounds the model's whole work for a reply, and a shorter one its first token.

Against the local stand-in over real HTTP and SSE, with deadlines of a second
or two. Every call runs under a guard far beyond its deadline (and far below
the old attempts × timeout), so a deadline that does not hold fails the test
instead of hanging the suite. Timings are only bounded with generous slack.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import anyio
import pytest

from companion.adapters.llm.openai_chat import OpenAIChatModel, ReplyDeadlinePassed
from companion.domain.chat import ChatDelta, ChatDone, ChatReply, ChatStreamItem
from tests.support.openai_model import REQUEST, Waits, model_for
from tests.support.openai_standin import Status, Stream, serving

GUARD_SECONDS = 20.0
"""Far beyond every deadline here, far below the 4 × 30 s a hanging model used to take."""
NEVER = 60.0
"""A delay no deadline here waits for: the model never answers in the test's time."""
DEADLINE = 1.5


def timed_reply(model: OpenAIChatModel) -> tuple[ChatReply | Exception, float]:
    """`reply`'s result or error and how long it took, run where a hang cannot stall pytest."""
    outcome: list[ChatReply | Exception] = []

    def run() -> None:
        try:
            outcome.append(model.reply(REQUEST))
        except Exception as error:
            outcome.append(error)

    started = time.perf_counter()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS)
    assert not thread.is_alive(), f"the reply took more than {GUARD_SECONDS} s"
    return outcome[0], time.perf_counter() - started


def guarded_stream(model: OpenAIChatModel) -> tuple[list[ChatStreamItem | Exception], float]:
    """What `stream` yields, then its error if it raised, and how long it took."""

    async def collect() -> list[ChatStreamItem | Exception]:
        items: list[ChatStreamItem | Exception] = []
        with anyio.fail_after(GUARD_SECONDS):
            try:
                async for item in model.stream(REQUEST):
                    items.append(item)
            except ReplyDeadlinePassed as error:
                items.append(error)
        return items

    started = time.perf_counter()
    items = asyncio.run(collect())
    return items, time.perf_counter() - started


def test_a_model_that_never_answers_fails_the_reply_after_about_the_deadline() -> None:
    # The per-read timeout (30 s) and the first-token time (10 s) both exceed the
    # deadline: only the deadline can end this call.
    with serving(Stream(delay=NEVER)) as standin:
        outcome, took = timed_reply(model_for(standin, Waits(), timeout=30.0, deadline=DEADLINE))

    assert isinstance(outcome, ReplyDeadlinePassed)
    assert DEADLINE * 0.5 < took < DEADLINE * 3
    assert len(standin.requests) == 1, "the first-token time is capped by the deadline"


def test_a_stream_that_never_starts_raises_instead_of_ending_with_a_reply() -> None:
    with serving(Stream(stall=NEVER)) as standin:
        items, took = guarded_stream(
            model_for(standin, Waits(), timeout=30.0, deadline=DEADLINE, first_token_timeout=0.4)
        )

    assert isinstance(items[-1], ReplyDeadlinePassed)
    assert not any(isinstance(item, ChatDone) for item in items)
    assert took < DEADLINE * 3
    assert len(standin.requests) >= 2, "each attempt is abandoned at its first-token time"


def test_headers_without_a_first_token_are_abandoned_at_the_first_token_time_and_retried() -> None:
    waits = Waits()
    with serving(Stream(stall=NEVER), Stream(pieces=("Here", " I am"))) as standin:
        items, took = guarded_stream(
            model_for(standin, waits, timeout=30.0, deadline=5.0, first_token_timeout=0.5)
        )

    assert [type(item) for item in items] == [ChatDelta, ChatDelta, ChatDone]
    done = items[-1]
    assert isinstance(done, ChatDone)
    assert done.reply.text == "Here I am"
    assert not done.reply.fallback
    assert len(standin.requests) == 2
    assert len(waits.seconds) == 1
    assert took < 5.0


def test_a_model_slow_once_answers_from_the_retry_within_the_deadline() -> None:
    # Real waits between the attempts: the backoff is spent inside the deadline too.
    with serving(Stream(delay=NEVER), Stream(pieces=("Sorry, I was slow",))) as standin:
        outcome, took = timed_reply(
            model_for(
                standin,
                Waits(),
                sleep=asyncio.sleep,
                backoff_base=0.2,
                timeout=30.0,
                deadline=3.0,
                first_token_timeout=0.5,
            )
        )

    assert isinstance(outcome, ChatReply)
    assert outcome.text == "Sorry, I was slow"
    assert not outcome.fallback
    assert len(standin.requests) == 2
    assert took < 3.0


def test_a_retry_after_longer_than_what_is_left_is_not_waited_for() -> None:
    waits = Waits()
    with serving(Status(429, retry_after="5"), Stream()) as standin:
        outcome, took = timed_reply(model_for(standin, waits, deadline=DEADLINE))

    assert isinstance(outcome, ReplyDeadlinePassed)
    assert "429" in str(outcome)
    assert waits.seconds == []
    assert len(standin.requests) == 1
    assert took < DEADLINE


def test_a_retry_after_within_what_is_left_is_honoured() -> None:
    waits = Waits()
    with serving(Status(429, retry_after="1"), Stream(pieces=("Now",))) as standin:
        outcome, _ = timed_reply(model_for(standin, waits, deadline=5.0))

    assert isinstance(outcome, ChatReply)
    assert outcome.text == "Now"
    assert waits.seconds == [1.0]


def test_a_backoff_wait_that_would_cross_the_deadline_is_not_taken() -> None:
    # A first wait of 2 to 4 s (full jitter on 4 s) cannot fit in 1.5 s.
    waits = Waits()
    with serving(Status(503)) as standin:
        outcome, took = timed_reply(model_for(standin, waits, deadline=DEADLINE, backoff_base=4.0))

    assert isinstance(outcome, ReplyDeadlinePassed)
    assert waits.seconds == []
    assert len(standin.requests) == 1
    assert took < DEADLINE


def test_retries_used_up_inside_the_deadline_still_end_in_the_fallback() -> None:
    waits = Waits()
    with serving(Status(502)) as standin:
        outcome, _ = timed_reply(model_for(standin, waits, deadline=DEADLINE, retries=2))

    assert isinstance(outcome, ChatReply)
    assert outcome.fallback
    assert len(standin.requests) == 3


def test_after_the_first_token_the_attempt_runs_until_the_deadline_not_past_it() -> None:
    stalled = Stream(pieces=("Well,", " let me think"), stall=NEVER, stall_after=1)
    with serving(stalled) as standin:
        items, took = guarded_stream(
            model_for(standin, Waits(), timeout=30.0, deadline=DEADLINE, first_token_timeout=0.3)
        )

    assert items[0] == ChatDelta("Well,")
    assert isinstance(items[-1], ReplyDeadlinePassed)
    assert not any(isinstance(item, ChatDone) for item in items)
    assert DEADLINE * 0.5 < took < DEADLINE * 3
    assert len(standin.requests) == 1, "a started reply is not cut at the first-token time"


@pytest.mark.parametrize("values", [{"deadline": 0.0}, {"first_token_timeout": -1.0}])
def test_a_deadline_must_be_positive(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="positive"):
        OpenAIChatModel(api_key="x", **values)
