"""Several projection workers on one PostgreSQL log: each read model has one leader.

- two or three workers spread the read models between them, and each read
  model's batches are committed by its leader alone;
- a leader that dies (its lock connection closed) has its read models taken
  over within the retry time, from their committed positions: the read models
  end as a rebuild makes them, nothing skipped or doubled;
- the fence: a worker that lost its lock connection but still runs cannot
  commit a batch of a read model it led.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from companion.app.bootstrap import Companion, ReadModels, view_store
from projections.leadership import (
    FencedViews,
    Leadership,
    NotLeader,
    leaders,
    lock_connection_name,
)
from projections.postgres_views import PostgresViewStore
from projections.runner import ProjectionRunner
from projections.store import ViewCursor, ViewStore
from tests.support.companions import Companions
from tests.support.users import user_with_character

pytestmark = pytest.mark.postgres

RETRY = 0.05
READ_MODELS = len(ReadModels().all())


class WitnessedViews(FencedViews):
    """The fenced store of one worker, which notes every position it commits."""

    def __init__(self, store: ViewStore, leadership: Witnessed, tracking: Mapping[str, str]):
        super().__init__(store, leadership, tracking)
        self.witness = leadership
        self._pending = threading.local()

    @contextmanager
    def write_all(self, keys: Sequence[str]) -> Iterator[ViewCursor]:
        pending: list[tuple[str, int]] = []
        self._pending.moves = pending
        with super().write_all(keys) as cursor:
            yield cursor
        with self.witness.lock:
            self.witness.commits.extend(pending)  # only once the transaction committed

    def _moved(self, key: str, position: int) -> None:
        self._pending.moves.append((self.tracking.get(key, key), position))

    def advance(self, cursor: ViewCursor, key: str, position: int) -> None:
        super().advance(cursor, key, position)
        self._moved(key, position)

    def advance_last(self, cursor: ViewCursor, key: str, position: int) -> None:
        super().advance_last(cursor, key, position)
        self._moved(key, position)

    def advance_all(self, cursor: ViewCursor, positions: Mapping[str, int]) -> None:
        super().advance_all(cursor, positions)
        for key, position in positions.items():
            self._moved(key, position)


class Witnessed(Leadership):
    """A worker's leadership that keeps, in `commits`, every (read model, position) its
    worker committed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commits: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def fenced(self, store: ViewStore, tracking: Mapping[str, str]) -> FencedViews:
        return WitnessedViews(store, self, tracking)

    def committed(self) -> set[str]:
        with self.lock:
            return {name for name, _ in self.commits}


class Workers:
    """Projection workers on one companion's store, each with views of its own."""

    def __init__(self, companion: Companion) -> None:
        self.companion = companion
        self.runners: list[ProjectionRunner] = []
        self._stores: list[ViewStore] = []

    def add(self, number: int) -> tuple[ProjectionRunner, Witnessed]:
        views = view_store(self.companion.store)
        assert isinstance(views, PostgresViewStore)
        self._stores.append(views)
        runner = ProjectionRunner(
            self.companion.application.recorder,
            self.companion.application.mapper,
            views,
            ReadModels().all(),
            batch_size=5,
            poll_interval=0.02,
        )
        leadership = Witnessed(
            views, list(runner.projections), f"{number:08x}{'0' * 24}", retry_seconds=RETRY
        )
        runner.lead_with(leadership)
        self.runners.append(runner)
        return runner, leadership

    def close(self) -> None:
        for runner in self.runners:
            runner.stop()
            if runner.leadership is not None:
                runner.leadership.close()
        for views in self._stores:
            views.close()


@pytest.fixture
def workers(postgres_companions: Companions) -> Iterator[Workers]:
    workers = Workers(postgres_companions(projection_batch_size=5))
    yield workers
    workers.close()


def eventually(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Wait for what other threads will do; the bound only turns a hang into a failure."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.01)


def spread(leaderships: Sequence[Leadership]) -> bool:
    """Every read model led by exactly one, none leading more than its share, each some."""
    led = [set(leadership.led) for leadership in leaderships]
    share = -(-READ_MODELS // len(leaderships))
    return (
        sum(len(names) for names in led) == READ_MODELS
        and len(set().union(*led)) == READ_MODELS
        and all(0 < len(names) <= share for names in led)
    )


def chat(companion: Companion, users: int, turns: int, tag: str) -> None:
    for u in range(users):
        user_id, character_id = user_with_character(companion, f"{tag}{u}@example.org")
        for n in range(turns):
            companion.chat.send_message(user_id=user_id, character_id=character_id, text=f"{n}")


def caught_up(runners: Sequence[ProjectionRunner]) -> bool:
    head = runners[0].head()
    return all(runners[0].position(name) >= head for name in runners[0].projections)


def assert_equal_to_a_rebuild(companion: Companion) -> None:
    for projection in companion.read_models.all():
        live = projection.dump(companion.views)
        companion.runner.rebuild(projection)
        assert projection.dump(companion.views) == live, projection.name


def terminate_lock_connection(companion: Companion, leadership: Leadership) -> None:
    """What the server does when a worker dies: its lock connection ends, and its locks."""
    name = lock_connection_name(companion.views.datastore.schema, leadership.worker_id)  # type: ignore[attr-defined]
    with companion.views.read() as cursor:
        rows = cursor.query(
            "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity"
            " WHERE application_name = :name",
            {"name": name},
        )
    assert [row["ended"] for row in rows] == [True]


@pytest.mark.parametrize("count", [2, 3])
def test_each_read_model_is_applied_by_its_one_leader_and_every_worker_leads_some(
    workers: Workers, count: int
) -> None:
    started = [workers.add(n) for n in range(count)]
    for runner, _ in started:
        runner.start()
    leaderships = [leadership for _, leadership in started]
    eventually(lambda: spread(leaderships), "the read models spread over the workers")
    led = [set(leadership.led) for leadership in leaderships]
    views = workers.companion.views
    assert isinstance(views, PostgresViewStore)
    assert leaders(views, list(workers.runners[0].projections)) == {
        name: leadership.worker_id for leadership in leaderships for name in leadership.led
    }  # what `companion projections status` shows
    for leadership in leaderships:
        with leadership.lock:
            leadership.commits.clear()

    chat(workers.companion, users=3, turns=3, tag="spread")
    eventually(lambda: caught_up(workers.runners), "every read model at the head")

    for leadership, names in zip(leaderships, led, strict=True):
        assert set(leadership.led) == names  # no leadership moved meanwhile
        assert leadership.committed() <= names  # it committed only what it leads
        assert leadership.committed()  # and every worker did some of the work
    committers = {
        name: [n for n, leadership in enumerate(leaderships) if name in leadership.committed()]
        for name in workers.runners[0].projections
    }
    moved = {name for name, found in committers.items() if found}
    assert all(len(found) == 1 for found in committers.values() if found), committers
    assert len(moved) >= count
    assert_equal_to_a_rebuild(workers.companion)


def test_a_dead_leaders_read_models_move_to_another_and_lose_no_event(
    workers: Workers,
) -> None:
    survivor, survivor_leads = workers.add(0)
    dying, dying_leads = workers.add(1)  # driven here, pass by pass, until it dies
    dying_leads.refresh()
    assert len(dying_leads.led) == READ_MODELS  # alone, it leads every read model
    survivor.start()

    def shared() -> bool:
        dying_leads.refresh()  # lets go of what is beyond its share
        return spread([survivor_leads, dying_leads])

    eventually(shared, "the second worker taking its share from the first")
    chat(workers.companion, users=2, turns=2, tag="before")
    eventually(
        lambda: dying.run_once() >= 0 and caught_up(workers.runners), "both workers at the head"
    )
    orphans = set(dying_leads.led)
    assert orphans
    assert dying_leads.committed() == orphans
    with survivor_leads.lock:
        before = len(survivor_leads.commits)

    # The worker dies: no pass of its own again, and the server ends its connection.
    terminate_lock_connection(workers.companion, dying_leads)
    died = time.monotonic()
    eventually(lambda: len(survivor_leads.led) == READ_MODELS, "the survivor leading all")
    took = time.monotonic() - died

    chat(workers.companion, users=2, turns=3, tag="after")
    eventually(lambda: caught_up(workers.runners), "the survivor at the head")
    with survivor_leads.lock:
        after = {name for name, _ in survivor_leads.commits[before:]}
    assert orphans <= after, (orphans, after, took)
    print(f"taken over in {took:.3f} s (retry every {RETRY} s)")
    assert_equal_to_a_rebuild(workers.companion)


def test_a_worker_that_lost_its_lock_connection_cannot_commit_a_batch(
    workers: Workers,
) -> None:
    lost, lost_leads = workers.add(0)
    taker, taker_leads = workers.add(1)
    lost_leads.refresh()  # alone: it leads every read model
    assert len(lost_leads.led) == READ_MODELS
    chat(workers.companion, users=1, turns=1, tag="first")
    lost.run_once()
    positions = {name: lost.position(name) for name in lost.projections}
    committed = len(lost_leads.commits)

    # Its connection is gone (a network fault), which it has not noticed; another
    # worker takes the read models before it does.
    terminate_lock_connection(workers.companion, lost_leads)
    taker_leads.refresh()
    assert len(taker_leads.led) == READ_MODELS
    assert len(lost_leads.led) == READ_MODELS  # as far as it knows, it still leads them

    chat(workers.companion, users=1, turns=2, tag="second")
    with pytest.raises(NotLeader, match="no longer leads"):  # the fence
        lost.run_once()
    assert len(lost_leads.commits) == committed
    assert {name: lost.position(name) for name in lost.projections} == positions

    taker.run_once()
    assert caught_up([taker])
    assert_equal_to_a_rebuild(workers.companion)
