"""Memories found by a model: the MemoryExtractor port over the OpenAI chat-completions API.

The model is asked for a JSON object (`response_format` json_object, which
OpenAI, Ollama, vLLM and llama.cpp's server all honour) listing the facts
worth remembering in one user message; the answer is validated with pydantic
as a whole. An answer that is not JSON, does not have the shape, or holds a
value out of range yields no memories at all (logged, never raised): a
memory made of junk is worse than a missed one, and the rules still run.
A failed call (timeout, connection, any HTTP error) yields none either.

Each candidate's extractor is "model:<model name>". The message text is sent
to the model, never logged; the API key is never logged nor in the repr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast
from uuid import UUID

import httpx
import openai
import structlog
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from companion.domain.errors import InvalidInput
from companion.domain.memory_values import MAX_MEMORY_TEXT_CHARS, MemoryCandidate
from companion.domain.sentiment import EMOTIONS

log = structlog.get_logger(__name__)

_CALL_ERRORS = (
    openai.OpenAIError,
    httpx.HTTPError,
    # A body that is no chat completion at all.
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
)

DEFAULT_MODEL = "gpt-4o-mini"
NO_KEY = "not-needed"
MAX_MEMORIES_PER_MESSAGE = 8

INSTRUCTIONS = f"""You find what a companion should remember about the user in one message.
Answer with one JSON object and nothing else:
{{"memories": [{{"kind": "event" | "preference" | "relationship" | "significant",
  "subject": what the fact is about, one or two words in English (e.g. "pet", "birthday",
             "likes", "job", "plan", "sister"),
  "attribute": the aspect of the subject, or null (e.g. "name" for a pet's name, the liked
               thing for "likes"),
  "value": the fact's value, short (e.g. "Mochi", "March 4", "likes"),
  "text": the fact as one short sentence about "the user", in the message's language,
  "importance": a number from 0 to 1 (a passing remark 0.3, a birthday 0.9),
  "tags": a few keywords in English and Japanese,
  "emotion": one of {", ".join(EMOTIONS)}, or null}}]}}
At most {MAX_MEMORIES_PER_MESSAGE} memories; {{"memories": []}} when nothing is worth keeping.
Only facts about the user or the people and animals in their life, never about the companion.
A correction of an earlier fact keeps its subject and attribute and gives the new value."""


class _ModelMemory(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: Literal["event", "preference", "relationship", "significant"]
    subject: str = Field(min_length=1, max_length=100)
    attribute: str | None = Field(default=None, max_length=100)
    value: str = Field(min_length=1, max_length=MAX_MEMORY_TEXT_CHARS)
    text: str = Field(min_length=1, max_length=MAX_MEMORY_TEXT_CHARS)
    importance: float = Field(ge=0.0, le=1.0)
    tags: list[str] = Field(default_factory=list, max_length=20)
    emotion: str | None = None


class _ModelAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    memories: list[_ModelMemory] = Field(max_length=MAX_MEMORIES_PER_MESSAGE)


def candidates_from_answer(
    content: str | None, *, message_id: UUID, extractor: str
) -> list[MemoryCandidate]:
    """The candidates of a model's answer, or [] for anything malformed (logged)."""
    if not content:
        log.warning("memory_extractor.empty_answer", extractor=extractor)
        return []
    try:
        answer = _ModelAnswer.model_validate(json.loads(content))
        return [
            MemoryCandidate(
                kind=item.kind,
                key=(item.subject, *([item.attribute] if item.attribute else [])),
                value=item.value,
                text=item.text,
                importance=item.importance,
                source_message_id=message_id,
                extractor=extractor,
                tags=tuple(item.tags),
                emotion=item.emotion,
            )
            for item in answer.memories
        ]
    except (ValueError, ValidationError, InvalidInput, TypeError) as error:
        # json.JSONDecodeError and pydantic's errors are ValueErrors; the answer's
        # text is the user's, so only the error's kind is logged.
        log.warning(
            "memory_extractor.malformed_answer",
            extractor=extractor,
            error=type(error).__name__,
            answer_chars=len(content),
        )
        return []


@dataclass
class OpenAIMemoryExtractor:
    """The MemoryExtractor port over any OpenAI-compatible chat-completions server."""

    api_key: str = field(repr=False)
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    timeout: float = 30.0
    max_tokens: int = 600

    name: str = field(init=False)
    """The candidates' extractor: "model:<model>"."""

    def __post_init__(self) -> None:
        self.name = f"model:{self.model}"

    def extract(self, text: str, *, message_id: UUID, now: datetime) -> list[MemoryCandidate]:
        """Candidates for one message; [] when the call fails or the answer is malformed."""
        try:
            with self._client() as client:
                completion = client.chat.completions.create(**self._request(text, now))
            content = completion.choices[0].message.content if completion.choices else None
        except _CALL_ERRORS as error:
            return self._failed(error)
        return candidates_from_answer(content, message_id=message_id, extractor=self.name)

    async def extract_async(
        self, text: str, *, message_id: UUID, now: datetime
    ) -> list[MemoryCandidate]:
        """As `extract`, for a caller inside an event loop (the WebSocket turn)."""
        try:
            async with self._async_client() as client:
                completion = await client.chat.completions.create(**self._request(text, now))
            content = completion.choices[0].message.content if completion.choices else None
        except _CALL_ERRORS as error:
            return self._failed(error)
        return candidates_from_answer(content, message_id=message_id, extractor=self.name)

    def _request(self, text: str, now: datetime) -> dict[str, Any]:
        messages = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "system", "content": f"Today is {now.date().isoformat()}."},
            {"role": "user", "content": text},
        ]
        return {
            "model": self.model,
            "messages": cast("list[ChatCompletionMessageParam]", messages),
            "response_format": {"type": "json_object"},
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }

    def _failed(self, error: Exception) -> list[MemoryCandidate]:
        status = error.status_code if isinstance(error, openai.APIStatusError) else None
        log.warning(
            "memory_extractor.call_failed",
            extractor=self.name,
            error=type(error).__name__,
            status=status,
        )
        return []

    def _client(self) -> OpenAI:
        return OpenAI(
            api_key=self.api_key or NO_KEY,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=0,
        )

    def _async_client(self) -> AsyncOpenAI:
        return AsyncOpenAI(
            api_key=self.api_key or NO_KEY,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=0,
        )
