"""Our OpenAI chat adapter pointed at the local stand-in, with a sleep that only records."""

from __future__ import annotations

import random
from typing import Any

from companion.adapters.llm.openai_chat import OpenAIChatModel
from companion.domain.characters import Persona
from companion.domain.chat import ChatRequest
from tests.support.openai_standin import MODEL, StandIn
from tests.support.personas import HANA

PERSONA = Persona.parse(**HANA)
REQUEST = ChatRequest(persona=PERSONA, user_nickname="Ai", user_text="How was your day?")


class Waits:
    """The sleep the adapter is given: it records each wait and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def model_for(standin: StandIn, waits: Waits, **overrides: Any) -> OpenAIChatModel:
    values: dict[str, Any] = {
        "api_key": "sk-test-standin",
        "model": MODEL,
        "base_url": standin.base_url,
        "timeout": 2.0,
        "retries": 3,
        "sleep": waits,
        "rng": random.Random(7),
    }
    values.update(overrides)
    return OpenAIChatModel(**values)
