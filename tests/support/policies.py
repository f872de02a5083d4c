"""Domain policies replaced wherever a module holds them, as if they had changed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import pytest

from companion.domain import emotion, expression
from companion.domain.characters import Personality
from companion.domain.expression import (
    EASING,
    EXPRESSIONS,
    TRANSITION_MS,
    Expression,
    ExpressionName,
    parameters,
)
from companion.domain.frozen_policies import baseline_v1, expression_v1, mood_expression_v1

Policy = Callable[..., Any]

LIVE_POLICIES: tuple[Policy, ...] = (
    emotion.baseline,
    expression.mood_expression,
    expression.expression_name,
    expression.expression_for,
    expression.expression_of_change,
)
"""The policies whose decisions travel on events: the baseline and the expression."""


@contextmanager
def policies_replaced(replacements: Mapping[Policy, Policy]) -> Iterator[int]:
    """Each policy replaced in every module of companion and projections that holds it.

    A module that imported a policy by name holds its own binding: each is
    replaced, so no reader can reach the policy as it was. Yields how many
    bindings were replaced.
    """
    with pytest.MonkeyPatch.context() as patch:
        replaced = 0
        for module in list(sys.modules.values()):
            if not getattr(module, "__name__", "").startswith(("companion.", "projections.")):
                continue
            for name, value in list(vars(module).items()):
                for policy, replacement in replacements.items():
                    if value is policy:
                        patch.setattr(module, name, replacement)
                        replaced += 1
        yield replaced


def refuse(*_: Any, **__: Any) -> Any:
    raise AssertionError("a live policy was asked for a decision already made")


@contextmanager
def live_policies_refused() -> Iterator[None]:
    """Every live policy raises when called: only values already decided may be read."""
    with policies_replaced(dict.fromkeys(LIVE_POLICIES, refuse)):
        yield


# -- the policies as if they had changed: every answer another than today's --------------------


def other_expression(name: str) -> ExpressionName:
    """The next expression of EXPRESSIONS: never the one given."""
    position = [*EXPRESSIONS].index(name)
    return EXPRESSIONS[(position + 1) % len(EXPRESSIONS)]


def changed_baseline(personality: Personality) -> int:
    """Another baseline than today's for every persona, still in range."""
    return (baseline_v1(asdict(personality)) + 150) % 201 - 100


def changed_mood_expression(mood: int) -> ExpressionName:
    return other_expression(mood_expression_v1(mood))


def changed_expression_name(
    mood: int, *, emotions: Mapping[str, float] | None = None, sleepy: bool = False
) -> ExpressionName:
    small_hours = [{"type": "time", "influence": -1.0}] if sleepy else []
    return other_expression(expression_v1(mood, small_hours, emotions))


def changed_expression_for(
    mood: int,
    *,
    emotions: Mapping[str, float] | None = None,
    sleepy: bool = False,
    transition_ms: int = TRANSITION_MS,
) -> Expression:
    name = changed_expression_name(mood, emotions=emotions, sleepy=sleepy)
    return Expression(name, parameters(name, mood), transition_ms, EASING)


def changed_expression_of_change(
    mood: int, factors: Sequence[Mapping[str, Any]], emotions: Mapping[str, float] | None = None
) -> Expression:
    name = other_expression(expression_v1(mood, factors, emotions))
    return Expression(name, parameters(name, mood), TRANSITION_MS, EASING)


CHANGED_POLICIES: dict[Policy, Policy] = {
    emotion.baseline: changed_baseline,
    expression.mood_expression: changed_mood_expression,
    expression.expression_name: changed_expression_name,
    expression.expression_for: changed_expression_for,
    expression.expression_of_change: changed_expression_of_change,
}
"""Built on the frozen copies, so that no changed policy reaches another changed one."""
