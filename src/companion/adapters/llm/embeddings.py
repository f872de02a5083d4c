"""Vectors for memory retrieval: the TextEmbedder port over the OpenAI `/embeddings` API.

Optional: without it retrieval is lexical. Any OpenAI-compatible server that
serves embeddings works (OpenAI, Ollama, vLLM, llama.cpp's server with
embeddings on). A failed call or an answer of the wrong shape (not one vector
per text, vectors of different lengths, values that are not finite numbers)
gives None, logged, so the caller stays lexical for that turn; texts are
never logged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import openai
import structlog
from openai import OpenAI

log = structlog.get_logger(__name__)

DEFAULT_MODEL = "text-embedding-3-small"
NO_KEY = "not-needed"
MAX_TEXTS_PER_CALL = 256


@dataclass
class OpenAIEmbedder:
    """The TextEmbedder port over an OpenAI-compatible embeddings endpoint."""

    api_key: str = field(repr=False)
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    timeout: float = 30.0

    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"embeddings:{self.model}"

    def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]] | None:
        if not texts:
            return []
        vectors: list[tuple[float, ...]] = []
        try:
            with OpenAI(
                api_key=self.api_key or NO_KEY,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=0,
            ) as client:
                for start in range(0, len(texts), MAX_TEXTS_PER_CALL):
                    batch = list(texts[start : start + MAX_TEXTS_PER_CALL])
                    answer = client.embeddings.create(model=self.model, input=batch)
                    rows = sorted(answer.data, key=lambda row: row.index)
                    if len(rows) != len(batch):
                        self._malformed("not one vector per text")
                        return None
                    vectors.extend(tuple(float(x) for x in row.embedding) for row in rows)
        except (openai.OpenAIError, httpx.HTTPError) as error:
            status = error.status_code if isinstance(error, openai.APIStatusError) else None
            log.warning(
                "embeddings.call_failed",
                model=self.model,
                error=type(error).__name__,
                status=status,
            )
            return None
        except (ValueError, TypeError, AttributeError) as error:
            self._malformed(type(error).__name__)
            return None
        if len({len(v) for v in vectors}) != 1 or not all(
            math.isfinite(x) for v in vectors for x in v
        ):
            self._malformed("vectors of different lengths or not finite")
            return None
        return vectors

    def _malformed(self, why: str) -> None:
        log.warning("embeddings.malformed_answer", model=self.model, why=why)
