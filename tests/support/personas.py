"""Valid persona inputs shared by the tests: Haruto (a boyfriend) and Hana (a girlfriend)."""

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


HANA: dict[str, Any] = {
    "name": "Hana Sato",
    "nickname": "Hana",
    "gender": "girlfriend",
    "age": 24,
    "occupation": "illustrator",
    "hobbies": ["tennis", "baking"],
    "personality": {
        "kindness": 0.9,
        "humor": 0.6,
        "seriousness": 0.3,
        "activeness": 0.5,
        "empathy": 0.8,
    },
    "backstory": "Grew up by the sea in Kamakura.",
}


def persona_input(**overrides: Any) -> dict[str, Any]:
    return {**PERSONA_INPUT, **overrides}
