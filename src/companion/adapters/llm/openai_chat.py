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

The timeout is the SDK's: how long connecting, or waiting for the next bytes,
may take; a slow model that keeps streaming is not cut off.

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
from typing import cast

import httpx
import openai
import structlog
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

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

Sleep = Callable[[float], Awaitable[None]]


class _AttemptFailed(Exception):
    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class OpenAIChatModel:
    """The chat-model port over the OpenAI chat-completions API, streamed."""

    api_key: str = field(repr=False)
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    timeout: float = 30.0
    retries: int = 3
    """Attempts after the first one."""
    budget: PromptBudget = field(default_factory=PromptBudget)
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    retry_after_cap: float = RETRY_AFTER_CAP_SECONDS
    sleep: Sleep = asyncio.sleep
    """Waits between attempts; tests pass one that records the waits."""
    rng: random.Random = field(default_factory=random.Random)
    """The jitter's randomness; tests pass a seeded one."""
    clock: Callable[[], float] = time.perf_counter

    name: str = field(init=False)
    """The port's name of the model: the model asked for."""

    def __post_init__(self) -> None:
        self.name = self.model

    # -- the port ----------------------------------------------------------------

    def reply(self, request: ChatRequest) -> ChatReply:
        """The whole reply, for a caller with no running event loop (the REST turn's thread).

        It runs the stream in its own event loop (`asyncio.run`); from inside a
        running loop, use `stream` instead (this raises RuntimeError there).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._complete(request))
        raise RuntimeError("OpenAIChatModel.reply called inside an event loop: use stream()")

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatStreamItem]:
        """Deltas as they come; a ChatRestart when an attempt fails after some; one ChatDone."""
        prompt = build_prompt(request, self.budget)
        started = self.clock()
        async with self._client() as client:
            for attempt in range(self.retries + 1):
                pieces: list[str] = []
                first_token_ms: int | None = None
                usage: tuple[int, int] | None = None
                try:
                    async for text, counts in self._attempt(client, prompt.as_dicts()):
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
                    if pieces:
                        yield ChatRestart()
                    if not failure.retryable or attempt == self.retries:
                        break
                    await self.sleep(self._wait(attempt, failure.retry_after))
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
            timeout=self.timeout,
            max_retries=0,
        )

    async def _attempt(
        self, client: AsyncOpenAI, messages: list[dict[str, str]]
    ) -> AsyncIterator[tuple[str, tuple[int, int] | None]]:
        """(text, usage) pairs of one streamed completion; a failure is an _AttemptFailed."""
        finished = False
        try:
            chunks = await client.chat.completions.create(
                model=self.model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                stream=True,
                stream_options={"include_usage": True},
                max_tokens=self.budget.reply_tokens,
            )
            async for chunk in chunks:
                usage = chunk.usage
                counts = (usage.prompt_tokens, usage.completion_tokens) if usage else None
                text = ""
                for choice in chunk.choices or ():
                    content = choice.delta.content if choice.delta is not None else None
                    if content is not None and not isinstance(content, str):
                        raise TypeError("a delta that is not text")
                    text += content or ""
                    finished = finished or choice.finish_reason is not None
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
        if not finished:
            raise _AttemptFailed("the stream ended before the reply was finished", retryable=True)

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
