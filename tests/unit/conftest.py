"""Fixtures shared by the unit tests: personas and event replay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from companion.domain.characters import Persona
from tests.support.personas import persona_input


@pytest.fixture(scope="session")
def make_persona() -> Callable[..., Persona]:
    """A valid persona, with any field overridden."""
    return lambda **overrides: Persona.parse(**persona_input(**overrides))


@pytest.fixture(scope="session")
def replay() -> Callable[[Iterable[Any]], Any]:
    """Rebuild an aggregate from scratch by applying its events in order."""

    def fold(events: Iterable[Any]) -> Any:
        aggregate = None
        for domain_event in events:
            aggregate = domain_event.mutate(aggregate)
        return aggregate

    return fold
