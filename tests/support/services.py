"""What a test does when a server it needs (PostgreSQL, Redis) is not there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_service(name: str, exc: BaseException) -> NoReturn:
    """Give up on a test whose server is unreachable: fail in CI, skip elsewhere."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    problem = f"{name} is not reachable: {reason}"
    if in_ci():
        pytest.fail(
            f"{problem} (CI=true: start it before the tests, see scripts/services.sh)",
            pytrace=False,
        )
    pytest.skip(f"{problem} (run `make services` to start it)")
