"""What the projection runner guarantees, each shown deterministically.

- a waiter is woken only once the rows it waits for are committed;
- a batch that fails half way, after some of its rows reached the database,
  leaves neither rows nor a new position behind;
- the runner never passes over an event that a slower writer commits later
  (on PostgreSQL a writer draws its ids only once the writer before it has
  committed, so commit order is id order);
- many writers and small batches project exactly what a rebuild does;
- a running worker keeps a heartbeat, and a stopped one stops beating.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from companion.app.bootstrap import Companion
from companion.domain.conversations import Conversation
from companion.domain.identity import conversation_id
from projections.runner import ProjectionRunner
from tests.support.companions import Companions
from tests.support.runner import BACKENDS, DiskFull, Registrations, register
from tests.support.users import user_with_character


@pytest.fixture(params=BACKENDS)
def companions(request: pytest.FixtureRequest) -> Companions:
    factory: Companions = request.getfixturevalue(f"{request.param}_companions")
    return factory


def eventually(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    """Wait for something another thread will do; the bound only turns a hang into a failure."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.005)


def a_conversation_with_one_turn(text: str) -> Conversation:
    conversation = Conversation(user_id=uuid4(), character_id=uuid4())
    message = conversation.send_user_message(text, client_message_id=None, message_id=uuid4())
    conversation.reply(
        in_reply_to=message,
        text="hi",
        model="m",
        latency_ms=1,
        prompt_tokens=1,
        completion_tokens=1,
        fallback=False,
    )
    return conversation


# -- a woken waiter reads committed rows --------------------------------------------

HOLD_COMMITS = 4242


@pytest.mark.postgres
def test_a_waiter_is_woken_only_after_the_batch_commits(
    postgres_companions: Companions, postgres_url: str
) -> None:
    companion = postgres_companions()
    runner, conversations = companion.runner, companion.read_models.conversations
    user_id, character_id = user_with_character(companion, "wait@example.org")
    runner.run_once()
    with psycopg.connect(postgres_url, autocommit=True) as holder:
        # A deferred trigger runs at COMMIT: while this session holds the advisory
        # lock, every transaction that moved a tracking position stops at its commit.
        holder.execute(
            "CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_advisory_xact_lock({HOLD_COMMITS}); RETURN NULL; END $$"
        )
        holder.execute(
            "CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT OR UPDATE ON projection_tracking "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()"
        )
        holder.execute("SELECT pg_advisory_lock(%s)", (HOLD_COMMITS,))
        turn = companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="are you there?"
        )
        runner.start()

        def a_commit_is_held() -> bool:
            row = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            return row is not None and row[0] > 0

        eventually(a_commit_is_held, "the runner reaching its commit")
        conv_id = conversation_id(user_id, character_id)
        assert not runner.wait_for(turn.position, ["conversations"], timeout=0.05)
        unseen = conversations.messages(companion.views, conv_id, before=None, limit=10)
        assert unseen.messages == []

        holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD_COMMITS,))
        assert runner.wait_for(turn.position, ["conversations"], timeout=20)
        page = conversations.messages(companion.views, conv_id, before=None, limit=10)
        assert [m.sender for m in page.messages] == ["character", "user"]


class HeldCommits:
    """Holds, at COMMIT, every transaction that moves a tracking position past `above`.

    A deferred trigger on the tracking table waits for an advisory lock this
    session holds: the transaction has written its rows and its position, and
    stays open on the server until released.
    """

    def __init__(self, connection: psycopg.Connection[Any], above: int = 0) -> None:
        self.connection = connection
        connection.execute(
            "CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.notification_id > {int(above)}"
            f" THEN PERFORM pg_advisory_xact_lock({HOLD_COMMITS}); END IF; RETURN NULL; END $$"
        )
        connection.execute(
            "CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT OR UPDATE ON projection_tracking "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()"
        )
        connection.execute("SELECT pg_advisory_lock(%s)", (HOLD_COMMITS,))

    def holding(self) -> bool:
        row = self.connection.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND objid = %s",
            (HOLD_COMMITS,),
        ).fetchone()
        return row is not None and row[0] > 0

    def release(self) -> None:
        self.connection.execute("SELECT pg_advisory_unlock(%s)", (HOLD_COMMITS,))


def woken_and_seen(
    runner: ProjectionRunner, position: int, name: str, timeout: float, seen: Callable[[], int]
) -> tuple[bool, int]:
    """Whether a waiter for `position` was woken within `timeout`, and what another
    connection saw the moment it woke."""
    return runner.wait_for(position, [name], timeout=timeout), seen()


def registrations_seen(postgres_url: str, registrations: Registrations) -> Callable[[], int]:
    """How many registrations a connection of its own sees committed."""

    def seen() -> int:
        with psycopg.connect(postgres_url, autocommit=True) as other:
            row = other.execute(
                f"SELECT count(*) FROM {registrations.table('registrations')}"
            ).fetchone()
        return int(row[0]) if row is not None else 0

    return seen


def no_waiter_wakes_before_the_commit(
    runner: ProjectionRunner,
    held: HeldCommits,
    apply: Callable[[], object],
    head: int,
    name: str,
    seen: Callable[[], int],
    expected: int,
) -> None:
    """`apply` in a thread until its commit is held: no waiter may wake meanwhile; once
    released, the waiter wakes and another connection sees the rows at that moment."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            apply()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        eventually(held.holding, "the batch reaching its commit")
        woken, rows = woken_and_seen(runner, head, name, 0.05, seen)
        assert not woken, f"a waiter woke while the batch was uncommitted; it saw {rows} rows"
    finally:
        held.release()
        thread.join(20)
    assert failures == []
    assert woken_and_seen(runner, head, name, 20, seen) == (True, expected)


@pytest.mark.postgres
def test_a_waiter_is_woken_only_after_a_step_commits(
    postgres_companions: Companions, postgres_url: str
) -> None:
    companion = postgres_companions()
    app, views = companion.application, companion.views
    registrations = Registrations()
    runner = ProjectionRunner(app.recorder, app.mapper, views, [registrations], batch_size=100)
    for n in range(3):
        register(companion, n)
    head = runner.head()
    with psycopg.connect(postgres_url, autocommit=True) as holder:
        held = HeldCommits(holder)
        no_waiter_wakes_before_the_commit(
            runner,
            held,
            lambda: runner.step(registrations),
            head,
            registrations.name,
            registrations_seen(postgres_url, registrations),
            expected=3,
        )


@pytest.mark.postgres
def test_a_waiter_is_woken_only_after_a_batch_written_behind_commits(
    postgres_companions: Companions, postgres_url: str
) -> None:
    companion = postgres_companions()
    app, views = companion.application, companion.views
    registrations = Registrations()
    batch = 2
    runner = ProjectionRunner(app.recorder, app.mapper, views, [registrations], batch_size=batch)
    for n in range(2 * batch + 1):
        register(companion, n)
    head = runner.head()
    with psycopg.connect(postgres_url, autocommit=True) as holder:
        # The first batch is a step of its own; the later ones go to the writer's
        # thread, and the last of them, which reaches the head, is held.
        held = HeldCommits(holder, above=head - 1)
        no_waiter_wakes_before_the_commit(
            runner,
            held,
            lambda: runner.catch_up(registrations),
            head,
            registrations.name,
            registrations_seen(postgres_url, registrations),
            expected=2 * batch + 1,
        )


# -- a failed batch leaves nothing behind ---------------------------------------------


def test_a_batch_failing_after_its_rows_were_flushed_leaves_no_row_and_keeps_its_position(
    companions: Companions,
) -> None:
    companion = companions()
    app, views = companion.application, companion.views
    registrations = Registrations()
    runner = ProjectionRunner(app.recorder, app.mapper, views, [registrations], batch_size=100)
    register(companion, 0)
    runner.step(registrations)
    before, applied = registrations.dump(views), runner.position(registrations.name)
    assert len(before[registrations.table("registrations")]) == 1
    for n in range(1, 5):
        register(companion, n)

    registrations.handled, registrations.fail_at = 0, 3
    with pytest.raises(DiskFull):
        runner.step(registrations)

    assert registrations.dump(views) == before
    assert runner.position(registrations.name) == applied

    registrations.handled, registrations.fail_at = 0, None
    runner.step(registrations)
    assert len(registrations.dump(views)[registrations.table("registrations")]) == 5
    assert runner.position(registrations.name) == runner.head()


# -- no event is passed over ----------------------------------------------------------


HOLD_APPENDS = 4343


class HeldWriter:
    """Holds the commit of every append of one stream until released.

    A deferred trigger on the events table runs at COMMIT and waits for an
    advisory lock this session holds: the writer's transaction has inserted
    and drawn its ids, and stays open on the server.
    """

    def __init__(self, connection: psycopg.Connection[Any], stream: UUID) -> None:
        self.connection = connection
        connection.execute("CREATE TABLE held_streams (originator_id uuid PRIMARY KEY)")
        connection.execute("INSERT INTO held_streams VALUES (%s)", (stream,))
        connection.execute(
            "CREATE FUNCTION hold_append() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF EXISTS (SELECT 1 FROM held_streams WHERE originator_id = NEW.originator_id)"
            f" THEN PERFORM pg_advisory_xact_lock({HOLD_APPENDS}); END IF; RETURN NULL; END $$"
        )
        connection.execute(
            "CREATE CONSTRAINT TRIGGER hold_append AFTER INSERT ON companion_events"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_append()"
        )
        connection.execute("SELECT pg_advisory_lock(%s)", (HOLD_APPENDS,))

    def held(self) -> int | None:
        """The backend of the writer whose commit is held, once it waits at its commit."""
        row = self.connection.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
            (HOLD_APPENDS,),
        ).fetchone()
        return None if row is None else int(row[0])

    def holding(self) -> bool:
        return self.held() is not None

    def release(self) -> None:
        self.connection.execute("SELECT pg_advisory_unlock(%s)", (HOLD_APPENDS,))


def waiting_for(connection: psycopg.Connection[Any], held: int) -> int | None:
    """The backend of another writer, once it waits on a lock for the `held` one: its
    append (a statement that draws ids from the counter row) blocked by that backend."""
    row = connection.execute(
        "SELECT pid FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> %(held)s"
        " AND wait_event_type = 'Lock' AND query LIKE '%%\\_head%%'"
        " AND %(held)s = ANY(pg_blocking_pids(pid))",
        {"held": held},
    ).fetchone()
    return None if row is None else int(row[0])


def overtaken_writer(
    writer_a: Companion, writer_b: Companion, postgres_url: str
) -> tuple[Conversation, Conversation]:
    """Writer A inserts and holds its commit; writer B (another process) then appends.

    Returns once writer B is waiting for A and the reader of `writer_a` has
    stepped while A was open, and both writers are done.
    """
    first, second = a_conversation_with_one_turn("first"), a_conversation_with_one_turn("second")
    with psycopg.connect(postgres_url, autocommit=True) as observer:
        held = HeldWriter(observer, first.id)
        thread_a = threading.Thread(target=writer_a.uow.save, args=(first,))
        thread_b = threading.Thread(target=writer_b.uow.save, args=(second,))
        thread_a.start()
        try:
            eventually(held.holding, "writer A holding its commit")
            writer = held.held()
            assert writer is not None
            thread_b.start()
            # B is told from A by its backend: A's own statement waits on a lock too.
            eventually(
                lambda: waiting_for(observer, writer) is not None, "writer B waiting for writer A"
            )
            writer_a.runner.run_once()
        finally:
            held.release()
            thread_a.join()
            if thread_b.is_alive() or thread_b.ident is not None:
                thread_b.join()
    return first, second


@pytest.mark.postgres
def test_the_runner_never_passes_over_an_event_a_slower_writer_commits_later(
    postgres_companions: Companions, postgres_url: str
) -> None:
    companion = postgres_companions(database_url=postgres_url)
    other_process = postgres_companions(database_url=postgres_url)
    runner, conversations = companion.runner, companion.read_models.conversations
    runner.run_once()

    first, second = overtaken_writer(companion, other_process, postgres_url)
    runner.run_once()

    for conversation in (first, second):
        assert conversations.conversation(companion.views, conversation.id) is not None
    live = conversations.dump(companion.views)
    runner.rebuild(conversations)
    assert conversations.dump(companion.views) == live


@pytest.mark.postgres
def test_a_writer_draws_its_ids_only_once_the_writer_before_it_has_committed(
    postgres_companions: Companions, postgres_url: str
) -> None:
    """What the runner relies on: while A's commit is held, B waits, and reads see neither."""
    companion = postgres_companions(database_url=postgres_url)
    other_process = postgres_companions(database_url=postgres_url)
    recorder = companion.application.recorder
    before = recorder.max_notification_id() or 0
    seen: list[int] = []

    def run_once_and_look() -> int:
        seen.append(recorder.max_notification_id() or 0)
        return 0

    companion.runner.run_once = run_once_and_look  # type: ignore[method-assign]
    first, second = overtaken_writer(companion, other_process, postgres_url)

    assert seen == [before]  # while A was held, nothing of A's or B's was readable
    ids = {n.originator_id: n.id for n in recorder.select_notifications(before, 10, None)}
    assert ids[first.id] < ids[second.id]  # A drew its ids first and B's came after


# -- many writers, small batches ------------------------------------------------------

WRITERS = 8
TURNS_EACH = 4


def test_concurrent_turns_followed_in_small_batches_project_exactly_like_a_rebuild(
    companions: Companions,
) -> None:
    companion = companions(projection_batch_size=3, projection_poll_interval=0.01)
    runner = companion.runner
    pairs = [user_with_character(companion, f"writer{i}@example.org") for i in range(WRITERS)]
    runner.start()
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def chat(i: int) -> None:
        user_id, character_id = pairs[i]
        barrier.wait()
        try:
            for n in range(TURNS_EACH):
                companion.chat.send_message(
                    user_id=user_id, character_id=character_id, text=f"{i}/{n}"
                )
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=chat, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert runner.wait_for(runner.head(), list(runner.projections), timeout=60)
    runner.stop()

    conversations = companion.read_models.conversations
    for user_id, character_id in pairs:
        view = conversations.conversation(companion.views, conversation_id(user_id, character_id))
        assert view is not None
        assert view.message_count == 2 * TURNS_EACH
    for projection in runner.projections.values():
        live = projection.dump(companion.views)
        runner.rebuild(projection)
        assert projection.dump(companion.views) == live, projection.name


# -- heartbeat ------------------------------------------------------------------------


def test_a_running_worker_beats_and_a_stopped_one_stops(companions: Companions) -> None:
    companion = companions()
    runner = companion.runner
    runner.heartbeat_interval = 0.01
    assert runner.last_heartbeat() is None

    runner.start()
    eventually(lambda: runner.last_heartbeat() is not None, "a first heartbeat")
    first = runner.last_heartbeat()
    assert first is not None
    eventually(lambda: (runner.last_heartbeat() or first) > first, "a later heartbeat")
    (worker,) = runner.workers()
    assert worker.projections == sorted(runner.projections)
    assert worker.started_at <= worker.last_seen

    runner.stop()
    stopped = runner.last_heartbeat()
    assert stopped is not None
    time.sleep(10 * runner.heartbeat_interval)
    assert runner.last_heartbeat() == stopped
    assert [w.last_seen for w in runner.workers()] == [stopped]


def test_each_worker_beats_under_its_own_id(companions: Companions) -> None:
    companion = companions()
    runner = companion.runner
    runner.heartbeat_interval = 0.01
    runner.start()
    eventually(lambda: len(runner.workers()) == 1, "the first worker's heartbeat")
    runner.stop()
    runner.start()
    eventually(lambda: len(runner.workers()) == 2, "the second worker's heartbeat")
    runner.stop()
    latest = runner.last_heartbeat()
    assert latest == max(w.last_seen for w in runner.workers())
