"""The settings every test builds on: password hashing cheap enough to run thousands of times."""

from __future__ import annotations

from typing import Any

from companion.app.settings import Settings

CHEAP_HASHING: dict[str, Any] = {"argon2_time_cost": 1, "argon2_memory_cost": 1024}
"""Argon2 at its cheapest, so that registering and logging in cost a test nothing."""

ROOMY_ALLOWANCES: dict[str, Any] = {
    "registrations_per_address": 10_000,
    "checkouts_per_account": 10_000,
    "checkouts_per_address": 10_000,
}
"""Every test's users sign up and check out from one address: the throttles that count
per address would stop a test long before its point. The tests of those throttles set
their own limits."""

CHEAP_ENVIRONMENT: dict[str, str] = {
    f"COMPANION_{name.upper()}": str(value)
    for name, value in {**CHEAP_HASHING, **ROOMY_ALLOWANCES}.items()
}
"""The same, as the environment of a `companion` process."""


def cheap_settings(**values: Any) -> Settings:
    """Settings with cheap hashing, roomy allowances and the given values (which win)."""
    return Settings(**{**CHEAP_HASHING, **ROOMY_ALLOWANCES, **values})
