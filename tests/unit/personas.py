"""A valid persona input for the unit tests, with overrides."""

from __future__ import annotations

from typing import Any

PERSONA_INPUT: dict[str, Any] = {
    "name": "Haruto Sato",
    "nickname": "Haru",
    "gender": "boyfriend",
    "age": 27,
    "personality": {
        "kindness": 0.8,
        "humor": 0.4,
        "seriousness": 0.3,
        "activeness": 0.5,
        "empathy": 0.6,
    },
    "occupation": "barista",
    "hobbies": ["hiking", "coffee"],
}


def persona_input(**overrides: Any) -> dict[str, Any]:
    return {**PERSONA_INPUT, **overrides}
