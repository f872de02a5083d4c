"""A real model through the `openai` SDK: OpenAI or any OpenAI-compatible server.

`base_url` points it at Ollama, vLLM, llama.cpp's server or any other server
speaking the chat-completions API. Replies are streamed (`stream`) or, for the
synchronous REST turn, streamed to completion (`reply`).

The SDK's own retries are off (`max_retries=0`): ours are explicit so that the
backoff, its jitter and the honouring of Retry-After are ours and tested. An
attempt fails on a timeout, a connection error, a 429 or a 5xx (retried), on a
stream cut before the model finished or on garbage in the stream (retried),
and on any other HTTP error (not retried: a 400 or 401 will not mend itself).
After the last attempt the reply is the in-character fallback, marked
`fallback=True`. A partial reply is never returned as if it were complete.

One deadline (`deadline`) bounds the model's whole work for a reply: every
attempt and every wait between them. An attempt never runs past it, a wait
that would cross it is not taken (nor a Retry-After longer than what is
left), and when it passes the call raises ReplyDeadlinePassed, on which the
app answers with the fallback itself. Within it, an attempt that has not
streamed its first token after `first_token_timeout` is abandoned and
retried: a model that hangs before answering is given up early, while one
that answers keeps the rest of the deadline. The bounds are anyio timeouts
around each of the SDK's awaits, never held across a `yield`, so a deadline
never cancels what the consumer does between deltas.

The timeout is the SDK's: how long connecting, or waiting for the next bytes,
may take (never more than the deadline).

The prompt asks the model to tell the day's event when the request carries
one, so a completed (not fallback) reply says it told it.

Each call opens its own AsyncOpenAI client (its connections belong to the
event loop running the call; `reply` runs a fresh loop per REST turn), so
connections are not reused across turns.

The API key is handed to the SDK only; it is never logged nor in the repr.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar, cast

import anyio
import httpx
import openai
import structlog
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from companion.domain.chat import (
    ChatDelta,
    ChatDone,
    ChatReply,
    ChatRequest,
    ChatRestart,
    ChatStreamItem,
)
from companion.domain.prompt import PromptBudget, build_prompt, estimate_tokens
from companion.domain.replies import fallback_reply

log = structlog.get_logger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
NO_KEY = "not-needed"
"""Sent as the key to a local server that needs none (the SDK insists on one)."""
RETRY_AFTER_CAP_SECONDS = 30.0
"""The longest a Retry-After header can make a turn wait before the next attempt."""
CLOSE_PATIENCE_SECONDS = 1.0
"""How long releasing an abandoned attempt's connection may take."""

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


class ReplyDeadlinePassed(TimeoutError):
    """The model's work for one reply ran out of its deadline: the caller falls back."""


class _AttemptFailed(Exception):
    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        deadline_passed: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.deadline_passed = deadline_passed


@dataclass
class OpenAIChatModel:
    """The chat-model port over the OpenAI chat-completions API, streamed."""

    api_key: str = field(repr=False)
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    timeout: float = 30.0
    """Connecting, or waiting for the next bytes (the SDK's timeout), capped by the deadline."""
    retries: int = 3
    """Attempts after the first one."""
    deadline: float = 30.0
    """Seconds for the whole reply: all its attempts and the waits between them."""
    first_token_timeout: float = 10.0
    """Seconds an attempt may take to its first token (never more than what is left)."""
    budget: PromptBudget = field(default_factory=PromptBudget)
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    retry_after_cap: float = RETRY_AFTER_CAP_SECONDS
    sleep: Sleep = asyncio.sleep
    """Waits between attempts; tests pass one that records the waits."""
    rng: random.Random = field(default_factory=random.Random)
    """The jitter's randomness; tests pass a seeded one."""
    clock: Callable[[], float] = time.perf_counter
    """What the deadline, the first-token time and first_token_ms are measured on."""

    name: str = field(init=False)
    """The port's name of the model: the model asked for."""

    def __post_init__(self) -> None:
        if self.deadline <= 0 or self.first_token_timeout <= 0:
            raise ValueError("the deadline and the first-token timeout must be positive")
        self.name = self.model

    # -- the port ----------------------------------------------------------------

    def reply(self, request: ChatRequest) -> ChatReply:
        """The whole reply, for a caller with no running event loop (the REST turn's thread).

        It runs the stream in its own event loop (`asyncio.run`); from inside a
        running loop, use `stream` instead (this raises RuntimeError there).
        Raises ReplyDeadlinePassed as `stream` does.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("OpenAIChatModel.reply called inside an event loop: use stream()")
        # Run outside the except block, so that the model's own errors are not chained
        # to "no running event loop".
        return asyncio.run(self._complete(request))

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatStreamItem]:
        """Deltas as they come; a ChatRestart when an attempt fails after some; one ChatDone.

        Raises ReplyDeadlinePassed when the deadline passes first (the deltas
        already streamed are then void).
        """
        prompt = build_prompt(request, self.budget)
        started = self.clock()
        deadline = started + self.deadline
        async with self._client() as client:
            for attempt in range(self.retries + 1):
                pieces: list[str] = []
                first_token_ms: int | None = None
                usage: tuple[int, int] | None = None
                try:
                    async for text, counts in self._attempt(client, prompt.as_dicts(), deadline):
                        if counts is not None:
                            usage = counts
                        if text:
                            if first_token_ms is None:
                                first_token_ms = self._ms_since(started)
                            pieces.append(text)
                            yield ChatDelta(text)
                except _AttemptFailed as failure:
                    log.warning(
                        "chat_model.attempt_failed",
                        model=self.model,
                        attempt=attempt + 1,
                        reason=failure.reason,
                        retryable=failure.retryable,
                    )
                    retrying = failure.retryable and attempt < self.retries
                    wait = self._wait(attempt, failure.retry_after) if retrying else None
                    if failure.deadline_passed:
                        raise ReplyDeadlinePassed(
                            f"the chat model's {self.deadline:g} s deadline passed"
                            f" during attempt {attempt + 1}"
                        ) from failure
                    if wait is not None and self.clock() + wait >= deadline:
                        # No attempt could start in time: the caller answers now, not later.
                        raise ReplyDeadlinePassed(
                            f"the chat model's {self.deadline:g} s deadline leaves no time to"
                            f" wait {wait:.1f} s after attempt {attempt + 1} ({failure.reason})"
                        ) from failure
                    if pieces:
                        yield ChatRestart()
                    if wait is None:
                        break
                    await self.sleep(wait)
                    continue
                text = "".join(pieces)
                prompt_tokens, completion_tokens = usage or (
                    prompt.estimated_tokens,
                    estimate_tokens(text),
                )
                yield ChatDone(
                    ChatReply(
                        text=text,
                        model=self.model,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens,
                        told_daily_event=request.daily_event is not None,
                        first_token_ms=first_token_ms,
                    )
                )
                return
        text = fallback_reply(request.persona, request.user_nickname, request.user_text)
        yield ChatDelta(text)
        yield ChatDone(
            ChatReply(
                text=text,
                model=self.model,
                prompt_tokens=prompt.estimated_tokens,
                completion_tokens=0,
                fallback=True,
            )
        )

    # -- one attempt -------------------------------------------------------------

    def _client(self) -> AsyncOpenAI:
        # One client per stream: its connections belong to the event loop that runs it.
        return AsyncOpenAI(
            api_key=self.api_key or NO_KEY,
            base_url=self.base_url,
            timeout=min(self.timeout, self.deadline),
            max_retries=0,
        )

    async def _attempt(
        self, client: AsyncOpenAI, messages: list[dict[str, str]], deadline: float
    ) -> AsyncIterator[tuple[str, tuple[int, int] | None]]:
        """(text, usage) pairs of one streamed completion; a failure is an _AttemptFailed.

        Each await on the SDK ends by the first-token time until a token came,
        then by the deadline.
        """
        until = min(self.clock() + self.first_token_timeout, deadline)
        finished = False
        chunks: AsyncStream[ChatCompletionChunk] | None = None
        try:
            chunks = await self._before(
                until,
                deadline,
                client.chat.completions.create(
                    model=self.model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    stream=True,
                    stream_options={"include_usage": True},
                    max_tokens=self.budget.reply_tokens,
                ),
            )
            received = aiter(chunks)
            while True:
                try:
                    chunk = await self._before(until, deadline, anext(received))
                except StopAsyncIteration:
                    break
                usage = chunk.usage
                counts = (usage.prompt_tokens, usage.completion_tokens) if usage else None
                text = ""
                for choice in chunk.choices or ():
                    content = choice.delta.content if choice.delta is not None else None
                    if content is not None and not isinstance(content, str):
                        raise TypeError("a delta that is not text")
                    text += content or ""
                    finished = finished or choice.finish_reason is not None
                if text:
                    until = deadline
                yield text, counts
        except openai.APIStatusError as error:
            status = error.status_code
            raise _AttemptFailed(
                f"HTTP {status}",
                retryable=status == 429 or status >= 500,
                retry_after=_retry_after(error.response.headers.get("retry-after")),
            ) from error
        except (openai.APITimeoutError, httpx.TimeoutException) as error:
            raise _AttemptFailed("timeout", retryable=True) from error
        except (openai.OpenAIError, httpx.HTTPError) as error:
            raise _AttemptFailed(type(error).__name__, retryable=True) from error
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            # json.JSONDecodeError is a ValueError: garbage where a chunk should be.
            raise _AttemptFailed(
                f"garbage in the stream ({type(error).__name__})", retryable=True
            ) from error
        finally:
            if chunks is not None:
                # An abandoned attempt gives its connection back now, not when the turn ends.
                with anyio.move_on_after(CLOSE_PATIENCE_SECONDS, shield=True):
                    await chunks.close()
        if not finished:
            raise _AttemptFailed("the stream ended before the reply was finished", retryable=True)

    async def _before(self, until: float, deadline: float, step: Awaitable[T]) -> T:
        """The step's result, unless `until` (on the clock) comes first."""
        with anyio.move_on_after(max(until - self.clock(), 0.0)):
            return await step
        if until >= deadline:
            raise _AttemptFailed("the deadline passed", retryable=False, deadline_passed=True)
        raise _AttemptFailed(
            f"no first token within {self.first_token_timeout:g} s", retryable=True
        )

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, or the server's Retry-After (capped)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        ceiling = min(self.backoff_cap, self.backoff_base * 2**attempt)
        return self.rng.uniform(ceiling / 2, ceiling)

    def _ms_since(self, started: float) -> int:
        return max(0, int((self.clock() - started) * 1000))

    async def _complete(self, request: ChatRequest) -> ChatReply:
        async for item in self.stream(request):
            if isinstance(item, ChatDone):
                return item.reply
        raise RuntimeError("the stream ended without its ChatDone")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None
