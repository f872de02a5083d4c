"""Fixtures of the fault tests: PostgreSQL and Redis servers of their own, to restart at will.

Each fault test gets servers started for it alone on free ports (see
tests/support/throwaway.py), never the shared ones other tests use, and they are
stopped and removed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.throwaway import ThrowawayPostgres, ThrowawayRedis


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    """A running PostgreSQL cluster for this test alone."""
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def database_url(postgres: ThrowawayPostgres) -> str:
    return postgres.create_database("companion_faults")


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    """A running redis-server for this test alone."""
    server = ThrowawayRedis()
    try:
        server.start()
        yield server
    finally:
        server.remove()
