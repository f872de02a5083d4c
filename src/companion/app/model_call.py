"""Asking the chat model for a reply, else the persona's in-character fallback.

Every turn and every regenerated take asks here, once: a model that raises
(or whose stream ends without its reply) costs the user nothing but the
fallback, which says it is one (`fallback=True`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import anyio.to_thread
import structlog

from companion.app import metrics
from companion.domain.characters import Character, Persona
from companion.domain.chat import (
    ChatDelta,
    ChatDone,
    ChatModel,
    ChatReply,
    ChatRequest,
    ChatRestart,
)
from companion.domain.prompt import ModelParameters, PromptBudget, prompt_provenance
from companion.domain.replies import fallback_reply

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class MadeReply:
    """The reply the model (or the fallback) made for a request."""

    text: str
    model: str
    fallback: bool
    told: bool
    """The day's event of the request went into the reply."""
    tokens: tuple[int, int]
    first_token_ms: int | None
    latency_ms: int


class ModelCall:
    """The chat model, asked once a reply, with the fallback when it fails."""

    def __init__(self, chat_model: ChatModel) -> None:
        self.chat_model = chat_model

    def parameters(self) -> ModelParameters:
        """The chat model's name and how it is asked (its budget, its temperature if set)."""
        budget = getattr(self.chat_model, "budget", None)
        temperature = getattr(self.chat_model, "temperature", None)
        return ModelParameters(
            model=self.chat_model.name,
            budget=budget if isinstance(budget, PromptBudget) else PromptBudget(),
            temperature=None if temperature is None else float(temperature),
        )

    def provenance(
        self, request: ChatRequest, character: Character, in_reply_to: UUID
    ) -> dict[str, Any]:
        """What went into the prompt of the reply to `in_reply_to`, as its event stores it."""
        return prompt_provenance(
            request,
            self.parameters(),
            in_reply_to=in_reply_to,
            persona_version=character.version,
        ).to_state()

    def reply(self, request: ChatRequest, persona: Persona, nickname: str) -> MadeReply:
        """The model's reply to the request, or the fallback if the model fails."""
        started = time.perf_counter()
        try:
            answer = self.chat_model.reply(request)
        except Exception as error:
            log.exception("chat_model.failed", model=self.chat_model.name)
            return _observed(self._fallback(request, persona, nickname, started), started, error)
        return _observed(_made(request, answer, started), started)

    async def stream(
        self, request: ChatRequest, persona: Persona, nickname: str
    ) -> AsyncGenerator[ChatDelta | ChatRestart | MadeReply, None]:
        """The reply as the model streams it: its deltas, then the reply made, last.

        A model without a stream gives its whole reply as one delta. A model
        failing mid-stream restarts the deltas (ChatRestart, when some were
        shown) with the fallback's one delta. The reply to store is the last
        item's text, never the deltas joined.
        """
        started = time.perf_counter()
        shown = False
        try:
            answer = None
            stream = getattr(self.chat_model, "stream", None)
            if stream is None:
                answer = await anyio.to_thread.run_sync(self.chat_model.reply, request)
                shown = True
                yield ChatDelta(answer.text)
            else:
                async for item in stream(request):
                    if isinstance(item, ChatDone):
                        answer = item.reply
                        break
                    shown = shown or isinstance(item, ChatDelta)
                    yield item
            if answer is None:
                raise RuntimeError("the model's stream ended without its reply")
            made = _observed(_made(request, answer, started), started)
        except Exception as error:
            log.exception("chat_model.failed", model=self.chat_model.name)
            made = _observed(self._fallback(request, persona, nickname, started), started, error)
            if shown:
                yield ChatRestart()
            yield ChatDelta(made.text)
        yield made

    def _fallback(
        self, request: ChatRequest, persona: Persona, nickname: str, started: float
    ) -> MadeReply:
        return MadeReply(
            text=fallback_reply(persona, nickname, request.user_text),
            model=self.chat_model.name,
            fallback=True,
            told=False,
            tokens=(0, 0),
            first_token_ms=None,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )


def _observed(made: MadeReply, started: float, error: Exception | None = None) -> MadeReply:
    """The reply made, its time and (for a fallback) its reason counted in the metrics.

    The time is measured again here, to the microsecond: the reply's `latency_ms` is
    whole milliseconds, which would put most offline replies at 0 s.
    """
    reason = metrics.fallback_reason(error) if made.fallback else None
    metrics.model_replied(time.perf_counter() - started, reason)
    return made


def _made(request: ChatRequest, answer: ChatReply, started: float) -> MadeReply:
    return MadeReply(
        text=answer.text,
        model=answer.model,
        fallback=answer.fallback,
        told=answer.told_daily_event and request.daily_event is not None,
        tokens=(answer.prompt_tokens, answer.completion_tokens),
        first_token_ms=answer.first_token_ms,
        latency_ms=int((time.perf_counter() - started) * 1000),
    )
