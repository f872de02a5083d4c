"""A session spans a user's sockets and their reconnects within the window, not each socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic
from litestar.testing import TestClient

from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.domain.sessions import Session
from tests.support.api import api_settings, sign_up
from tests.support.ws import TIMEOUT, connect, heartbeat, opened

WINDOW = 0.5


def session_events(companion: Companion, kind: type[Session.Event]) -> list[Any]:
    recorder = companion.application.recorder
    notifications = recorder.select_notifications(1, limit=10_000, topics=[get_topic(kind)])
    mapper = companion.application.mapper
    return [mapper.to_domain_event(n) for n in notifications]


def until_ended(companion: Companion, count: int) -> list[Any]:
    deadline = time.monotonic() + TIMEOUT
    while len(ended := session_events(companion, Session.Ended)) < count:
        assert time.monotonic() < deadline, "the session was never ended"
        time.sleep(0.01)
    return ended


@pytest.fixture
def windowed(tmp_path: Path) -> Iterator[tuple[Companion, TestClient[Any]]]:
    companion = bootstrap(api_settings(tmp_path, session_reconnect_seconds=WINDOW))
    try:
        with TestClient(create_app(companion)) as client:
            yield companion, client
    finally:
        companion.close()


def test_fifty_reconnects_within_the_window_are_one_session(tmp_path: Path) -> None:
    companion = bootstrap(api_settings(tmp_path, session_reconnect_seconds=600))
    try:
        with TestClient(create_app(companion)) as client:
            user = sign_up(client)
            sessions = set()
            for _ in range(50):
                with connect(client, user) as socket:
                    sessions.add(opened(socket)["payload"]["session_id"])
            assert len(sessions) == 1
            assert len(session_events(companion, Session.Started)) == 1
            assert len(session_events(companion, Session.Ended)) <= 1
        # The process stops: the end it held is written at once.
        assert len(session_events(companion, Session.Started)) == 1
        assert len(session_events(companion, Session.Ended)) == 1
    finally:
        companion.close()


def test_overlapping_sockets_of_a_user_share_the_session(
    windowed: tuple[Companion, TestClient[Any]],
) -> None:
    companion, client = windowed
    user = sign_up(client)
    with connect(client, user) as phone, connect(client, user) as tablet:
        assert opened(phone)["payload"]["session_id"] == opened(tablet)["payload"]["session_id"]
    until_ended(companion, 1)
    assert len(session_events(companion, Session.Started)) == 1


def test_a_reconnect_after_the_window_starts_a_new_session_ended_at_the_last_close(
    windowed: tuple[Companion, TestClient[Any]],
) -> None:
    companion, client = windowed
    user = sign_up(client, "sessions@example.com")
    with connect(client, {**user, "User-Agent": "phone-app/1.0"}) as socket:
        first = UUID(opened(socket)["payload"]["session_id"])
        heartbeat(socket)
    (ended,) = until_ended(companion, 1)
    seen_at = datetime.now(UTC)
    (started,) = session_events(companion, Session.Started)
    assert ended.originator_id == started.originator_id == first
    assert started.device == "phone-app/1.0"
    assert started.started_at <= ended.ended_at
    # Written a window after the close, it says when the close was.
    assert ended.ended_at <= seen_at - timedelta(seconds=WINDOW)

    with connect(client, user) as socket:
        second = UUID(opened(socket)["payload"]["session_id"])
    assert second != first
    assert len(session_events(companion, Session.Started)) == 2
