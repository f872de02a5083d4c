"""Following the log, every read model behind is brought up in one transaction.

- after a chat turn, one run of the runner is one write transaction for all the
  read models it moves (not one each), and what it writes is what a rebuild
  makes;
- a read model that fails there costs the others nothing: the shared
  transaction is rolled back and each read model is applied on its own, so the
  others reach the head and the failing one stays where it was;
- the positions move forward together or not at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from companion.app.bootstrap import Companion
from projections.postgres_views import PostgresViewStore
from projections.runner import ProjectionRunner
from projections.store import ViewCursor, ViewStore
from tests.support.companions import Companions
from tests.support.runner import BACKENDS, DiskFull, Registrations, register
from tests.support.users import user_with_character


class FailingRegistrations(Registrations):
    """Fails at its `fail_at`-th event and at every one after it, until told otherwise."""

    def registered(self, cursor: ViewCursor, event: Any, position: int) -> None:
        if self.fail_at is not None and self.handled + 1 >= self.fail_at:
            self.handled += 1
            raise DiskFull
        super().registered(cursor, event, position)


@pytest.fixture(params=BACKENDS)
def companions(request: pytest.FixtureRequest) -> Companions:
    factory: Companions = request.getfixturevalue(f"{request.param}_companions")
    return factory


@contextmanager
def counted_transactions(store: ViewStore) -> Iterator[list[str]]:
    """Every write transaction the store opens meanwhile, as the keys it locks."""
    opened: list[str] = []
    write, write_all = store.write, store.write_all

    def counted_write(key: str) -> AbstractContextManager[ViewCursor]:
        opened.append(key)
        return write(key)

    def counted_write_all(keys: Any) -> AbstractContextManager[ViewCursor]:
        opened.append(",".join(keys))
        return write_all(keys)

    store.write, store.write_all = counted_write, counted_write_all  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        del store.write, store.write_all


def dumps(companion: Companion) -> dict[str, Any]:
    return {p.name: p.dump(companion.views) for p in companion.read_models.all()}


def test_a_turn_is_applied_to_every_read_model_in_one_transaction(
    companions: Companions,
) -> None:
    companion = companions()
    runner = companion.runner
    user_id, character_id = user_with_character(companion, "together@example.org")
    runner.run_once()
    companion.chat.send_message(user_id=user_id, character_id=character_id, text="one transaction?")
    head = runner.head()
    behind = [name for name in runner.projections if runner.position(name) < head]
    assert len(behind) > 1, "a turn should concern several read models"

    with counted_transactions(companion.views) as opened:
        runner.run_once()

    assert len(opened) == 1, opened
    assert all(runner.position(name) == head for name in runner.projections)
    live = dumps(companion)
    for projection in companion.read_models.all():
        runner.rebuild(projection)
    assert dumps(companion) == live


def test_a_read_model_failing_in_the_shared_transaction_holds_back_only_itself(
    companions: Companions,
) -> None:
    companion = companions()
    app, views = companion.application, companion.views
    users, registrations = companion.read_models.users, FailingRegistrations()
    # The failing one first: the others are still applied after it fails.
    runner = ProjectionRunner(app.recorder, app.mapper, views, [registrations, users])
    register(companion, 0)
    runner.run_once()
    before, applied = registrations.dump(views), runner.position(registrations.name)
    for n in range(1, 4):
        register(companion, n)

    registrations.handled, registrations.fail_at = 0, 2
    with pytest.raises(DiskFull):
        runner.run_once()

    assert runner.position(users.name) == runner.head()
    assert len(users.dump(views)[users.table("users")]) == 4
    assert registrations.dump(views) == before
    assert runner.position(registrations.name) == applied

    registrations.handled, registrations.fail_at = 0, None
    runner.run_once()
    assert len(registrations.dump(views)[registrations.table("registrations")]) == 4
    assert runner.position(registrations.name) == runner.head()


def test_positions_move_forward_together_or_not_at_all(companions: Companions) -> None:
    store = companions().views
    keys = ["first@v1", "second@v1"]
    with store.write_all(keys) as cursor:
        store.advance_all(cursor, {"first@v1": 5, "second@v1": 5})

    with pytest.raises(IntegrityError), store.write_all(keys) as cursor:
        store.advance_all(cursor, {"first@v1": 7, "second@v1": 5})

    assert (store.position("first@v1"), store.position("second@v1")) == (5, 5)
    with store.read() as cursor:
        assert store.positions_in(cursor, [*keys, "third@v1"]) == {
            "first@v1": 5,
            "second@v1": 5,
            "third@v1": 0,
        }


@pytest.mark.postgres
def test_one_announcement_carries_every_read_model_it_moved(
    postgres_companions: Companions,
) -> None:
    store = postgres_companions().views
    assert isinstance(store, PostgresViewStore)
    heard: list[tuple[str, int]] = []
    listening, done = threading.Event(), threading.Event()

    def listen() -> None:
        for name, position in store.listen(done.is_set, timeout=0.05):
            if not name:
                listening.set()
                continue
            heard.append((name, position))
            if len(heard) == 2:
                done.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert listening.wait(10)
    with store.write_all(["first@v1", "second@v1"]) as cursor:
        store.announce_all(cursor, {"first": 3, "second": 4})
    thread.join(10)
    assert heard == [("first", 3), ("second", 4)]
