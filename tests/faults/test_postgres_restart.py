"""PostgreSQL restarted under a load of chat turns: 503s meanwhile, nothing acknowledged lost."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.live_client import Member, api_server, sign_up, wait_until
from tests.support.throwaway import ThrowawayPostgres

pytestmark = pytest.mark.slow

CLIENTS = 4
RESTARTS = 3
# Far beyond COMPANION_POSTGRES_POOL_TIMEOUT (2 s): an answer slower than this is a hang.
ANSWER_BOUND_SECONDS = 15.0


class Load:
    """Clients sending turns (each with its own client_message_id) until told to stop.

    A 503 is retried with the same client_message_id after its Retry-After, as a client
    does; a 200 is an acknowledged turn. Anything else, or an answer slower than
    ANSWER_BOUND_SECONDS, is a failure.
    """

    def __init__(self, base: str, members: list[Member]) -> None:
        self.base = base
        self.members = members
        self.stopping = threading.Event()
        self.acknowledged: dict[str, str] = {}
        self.unavailable = 0
        self.failures: list[str] = []
        self.lock = threading.Lock()

    def run(self, client: int) -> None:
        member = self.members[client]
        with httpx.Client(base_url=self.base, timeout=ANSWER_BOUND_SECONDS) as http:
            number = 0
            while not self.stopping.is_set():
                client_message_id = f"c{client}-t{number}"
                self.turn(http, member, client_message_id)
                number += 1

    def turn(self, http: httpx.Client, member: Member, client_message_id: str) -> None:
        body = {"text": f"turn {client_message_id}", "client_message_id": client_message_id}
        while True:
            try:
                response = http.post(member.messages_path, headers=member.headers, json=body)
            except httpx.TransportError as error:
                with self.lock:
                    self.failures.append(f"{client_message_id}: {type(error).__name__}")
                return
            if response.status_code == 200:
                with self.lock:
                    self.acknowledged[client_message_id] = response.json()["message_id"]
                return
            if response.status_code != 503 or not response.headers.get("retry-after"):
                with self.lock:
                    self.failures.append(
                        f"{client_message_id}: {response.status_code} {response.headers} "
                        f"{response.text}"
                    )
                return
            with self.lock:
                self.unavailable += 1
            time.sleep(min(float(response.headers["retry-after"]), 1.0))


def user_messages_by_client_id(database_url: str) -> Counter[str]:
    """How many UserMessageSent events the log holds for each client_message_id."""
    counted: Counter[str] = Counter()
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT state FROM companion_events WHERE topic LIKE %s", ("%.UserMessageSent",)
        ).fetchall()
    for (state,) in rows:
        client_message_id = json.loads(bytes(state)).get("client_message_id")
        if client_message_id is not None:
            counted[client_message_id] += 1
    return counted


def shown_messages(base: str, member: Member) -> set[str]:
    """The ids of every message of the member's conversation the read model shows."""
    shown: set[str] = set()
    params: dict[str, str | int] = {"limit": 100}
    with httpx.Client(base_url=base, timeout=ANSWER_BOUND_SECONDS) as http:
        while True:
            page = http.get(member.messages_path, headers=member.headers, params=params)
            assert page.status_code == 200, page.text
            shown |= {m["message_id"] for m in page.json()["messages"]}
            if page.json()["next_before"] is None:
                return shown
            params["before"] = page.json()["next_before"]


def ready(base: str) -> dict[str, Any] | None:
    try:
        answer = httpx.get(f"{base}/ready", timeout=5)
    except httpx.TransportError:
        return None
    body: dict[str, Any] = answer.json()
    caught_up = all(p["lag"] == 0 for p in body["projections"].values())
    return body if answer.status_code == 200 and caught_up else None


def test_a_restarted_database_loses_no_acknowledged_turn_and_projections_resume(
    postgres: ThrowawayPostgres, database_url: str, tmp_path: Path
) -> None:
    server = api_server(tmp_path, "api", COMPANION_DATABASE_URL=database_url)
    server.start()
    try:
        members = [sign_up(server.base) for _ in range(CLIENTS)]
        load = Load(server.base, members)
        clients = [threading.Thread(target=load.run, args=(n,)) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        try:
            for _ in range(RESTARTS):
                wait_until(lambda: len(load.acknowledged) >= 5, 60, "turns acknowledged")
                acknowledged_before = len(load.acknowledged)
                postgres.restart()
                wait_until(
                    lambda n=acknowledged_before: len(load.acknowledged) > n + 5,
                    60,
                    "turns acknowledged after the restart",
                )
        finally:
            load.stopping.set()
            for client in clients:
                client.join(timeout=60)
        assert not load.failures, load.failures
        assert load.unavailable > 0, "no request met the outage: the test proved nothing"

        # The read models catch up to the head of the log in the same process.
        wait_until(lambda: ready(server.base), 60, "the read models at the head of the log")
        shown = {m for member in members for m in shown_messages(server.base, member)}
    finally:
        server.stop()

    stored = user_messages_by_client_id(database_url)
    missing = sorted(set(load.acknowledged) - set(stored))
    assert not missing, f"acknowledged turns missing from the log: {missing}"
    twice = {cid: n for cid, n in stored.items() if n != 1}
    assert not twice, f"turns stored more than once: {twice}"
    assert set(load.acknowledged.values()) <= shown
