"""Appends: raw driver inserts against the recorders and the application's save path.

(a) raw inserts of one event-shaped row per transaction into a table shaped like
    the library's (PostgreSQL: psycopg 3, no table lock; SQLite: sqlite3, WAL,
    writers taking turns on a process lock as the library's pool makes them);
    as diagnostics, PostgreSQL in the recorder's transaction shape (pipelined
    BEGIN…COMMIT), then with its ``LOCK TABLE … IN EXCLUSIVE MODE`` added
    (what that lock alone costs), and SQLite without the process lock (what
    SQLite's sleeping busy handler costs);
(a2) PostgreSQL, one event per transaction with 1, 4 and 16 writers: raw
    inserts, the library's recorder and ours, in the same database and run;
(b1) whole chat turns through ``Chat.send_message`` with an
    instant chat model: two saves (UserMessageSent, CompanionReplied) a turn;
(b2) ``save_all(conversation)`` (the unit of work's ``save``) of a Conversation
    kept in memory, one event a save: the store and the mapper without the
    reloads of a chat turn.

Each writer thread has its own connection and its own stream (a conversation of
its own user × character), so the only contention is the store's.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import Environment

from benchmarks.harness import (
    EVENT_STATE,
    EVENT_TOPIC,
    USER_TEXT,
    Context,
    Figure,
    companion,
    next_event,
    plural,
    postgres_database,
    run_threads,
    settings_for,
    sqlite_directory,
    user_and_character,
)
from companion.adapters.postgres_store import PostgresStoreFactory
from companion.app.chat import Chat
from companion.app.persistence import store_for
from companion.app.unit_of_work import UnitOfWork
from companion.domain.conversations import Conversation

PG = "PostgreSQL appends"
LITE = "SQLite appends"

# -- (a) raw inserts ---------------------------------------------------------------------

PG_TABLE = """
CREATE TABLE stored_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version))
"""
PG_INDEX = (
    "CREATE UNIQUE INDEX stored_events_notification_id_idx ON stored_events (notification_id)"
)
PG_INSERT = (
    "INSERT INTO stored_events (originator_id, originator_version, topic, state)"
    " VALUES (%s, %s, %s, %s)"
)
PG_LOCK = "LOCK TABLE stored_events IN EXCLUSIVE MODE"

LITE_TABLE = """
CREATE TABLE IF NOT EXISTS stored_events (
    originator_id TEXT,
    originator_version INTEGER,
    topic TEXT,
    state BLOB,
    PRIMARY KEY (originator_id, originator_version))
"""
LITE_INSERT = "INSERT INTO stored_events VALUES (?, ?, ?, ?)"


class _PostgresWriter:
    """One connection writing one stream, one row per transaction.

    `shape` is "autocommit" (the INSERT is the transaction: the raw ceiling),
    "pipeline" (BEGIN, INSERT, COMMIT in a pipeline, as the library's recorder
    sends them) or "locked" (the same with its LOCK TABLE … IN EXCLUSIVE MODE).
    """

    def __init__(self, url: str, shape: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.shape = shape
        self.originator_id = uuid4()
        self.versions = itertools.count(1)

    def write(self, rows: int) -> None:
        conn, originator_id, shape = self.conn, self.originator_id, self.shape
        for version in itertools.islice(self.versions, rows):
            params = (originator_id, version, EVENT_TOPIC, EVENT_STATE)
            if shape == "autocommit":
                conn.execute(PG_INSERT, params, prepare=True)
                continue
            with conn.pipeline(), conn.transaction():
                if shape == "locked":
                    conn.execute(PG_LOCK)
                conn.execute(PG_INSERT, params, prepare=True)

    def close(self) -> None:
        self.conn.close()


class _SQLiteWriter:
    """One connection writing one stream, one row per transaction, as the library does.

    SQLite has one writer at a time. The library's pool hands out one writer
    connection at a time (a lock in the process); with `lock`, these writers do
    the same, without it they meet in SQLite's busy handler, which sleeps.
    """

    def __init__(self, path: Path, lock: threading.Lock | None) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.lock = lock or contextlib.nullcontext()
        self.originator_id = uuid4().hex
        self.versions = itertools.count(1)

    def write(self, rows: int) -> None:
        conn, lock, originator_id = self.conn, self.lock, self.originator_id
        for version in itertools.islice(self.versions, rows):
            with lock:
                conn.execute("BEGIN")
                conn.execute(LITE_INSERT, (originator_id, version, EVENT_TOPIC, EVENT_STATE))
                conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def _measure_writers(
    ctx: Context,
    *,
    key: str,
    group: str,
    label: str,
    writers: list[Any],
    per_thread: int,
    unit: str = "events/s",
    diagnostic: bool = False,
) -> None:
    """Time `writers` (objects with .write(n)) sharing the run's items, all at once."""
    # However many writers, a run writes the same total: one writer writes it all.
    total = per_thread * ctx.config.threads
    per_thread = total // len(writers)

    def work(writer: Any, n: int) -> Callable[[], None]:
        return lambda: writer.write(n)

    ctx.measure(
        key=key,
        group=group,
        label=label,
        unit=unit,
        diagnostic=diagnostic,
        count=total,
        warmup=lambda: run_threads([work(w, max(20, per_thread // 10)) for w in writers]),
        run=lambda: run_threads([work(w, per_thread) for w in writers]),
    )


PG_SHAPES = {
    "autocommit": ("insert", ""),
    "pipeline": ("insert_pipeline", " in BEGIN…COMMIT, pipelined"),
    "locked": ("insert_locked", " in BEGIN…COMMIT, pipelined, + LOCK TABLE"),
}


def postgres_raw(ctx: Context) -> None:
    per_thread, n = ctx.config.raw_rows_per_thread, ctx.config.threads
    with postgres_database(ctx.config.admin_url, "raw_appends") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PG_TABLE)
            conn.execute(PG_INDEX)
        for shape, (kind, how) in PG_SHAPES.items():
            diagnostic = shape != "autocommit"
            for threads in (1, n):
                writers = [_PostgresWriter(url, shape) for _ in range(threads)]
                try:
                    _measure_writers(
                        ctx,
                        key=f"pg.raw.{kind}.{threads}",
                        group=PG,
                        label=f"(a) raw psycopg insert, 1 row/txn{how}, {plural(threads, 'conn')}",
                        writers=writers,
                        # The diagnostics are slower: half the rows keep the run short.
                        per_thread=per_thread // 2 if diagnostic else per_thread,
                        unit="rows/s",
                        diagnostic=diagnostic,
                    )
                finally:
                    for writer in writers:
                        writer.close()


def sqlite_raw(ctx: Context) -> None:
    per_thread, n = ctx.config.raw_rows_per_thread, ctx.config.threads
    with sqlite_directory("raw") as folder:
        path = folder / "events.db"
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(LITE_TABLE)
        for threads, locked in ((1, True), (n, True), (n, False)):
            lock = threading.Lock() if locked else None
            writers = [_SQLiteWriter(path, lock) for _ in range(threads)]
            how = (
                ""
                if threads == 1
                else (", one writer at a time (process lock)" if locked else ", no process lock")
            )
            try:
                _measure_writers(
                    ctx,
                    key=f"sqlite.raw.insert{'' if locked else '_busy'}.{threads}",
                    group=LITE,
                    label=f"(a) raw sqlite3 insert, 1 row/txn, {plural(threads, 'conn')}{how}",
                    writers=writers,
                    per_thread=per_thread,
                    unit="rows/s",
                    diagnostic=not locked,
                )
            finally:
                for writer in writers:
                    writer.close()


# -- (a2) recorders, one event per transaction, 1 / 4 / 16 writers ----------------------------

RECORDER_WRITERS = (1, 4, 16)
RECORDERS = {
    "raw": "raw psycopg insert, autocommit",
    "library": "the library's PostgresApplicationRecorder (LOCK TABLE)",
    "ours": "our recorder (counter row, shared commits, one statement)",
}


class _RecorderWriter:
    """One writer thread appending its own stream, one event per insert_events."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.originator_id = uuid4()
        self.versions = itertools.count(1)

    def write(self, rows: int) -> None:
        insert, originator_id = self.recorder.insert_events, self.originator_id
        for version in itertools.islice(self.versions, rows):
            insert([StoredEvent(originator_id, version, EVENT_TOPIC, EVENT_STATE)])

    def close(self) -> None:
        pass


def postgres_recorders(ctx: Context) -> None:
    """Appends through the raw driver, the library's recorder and ours, in one database.

    Writers of the recorders share one recorder (and its pool), as the threads
    of an API process do; raw writers have a connection each. Every figure
    writes the same total. The three take turns within each repeat (raw,
    library, ours, then again), so that a disk whose speed drifts during the
    run weighs on all three alike rather than on whichever ran last.
    """
    total = max(200, ctx.config.raw_rows_per_thread * ctx.config.threads // 2)
    with (
        postgres_database(ctx.config.admin_url, "recorders") as url,
        sqlite_directory("pg-recorders") as folder,
    ):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PG_TABLE)
            conn.execute(PG_INDEX)
        settings = settings_for(url, folder).model_copy(
            update={"postgres_pool_size": max(RECORDER_WRITERS)}
        )
        factory = PostgresStoreFactory(Environment("companion", store_for(settings).event_env))
        try:
            library = PostgresApplicationRecorder(
                factory.datastore, events_table_name="library_events"
            )
            library.create_table()
            recorders = {"library": library, "ours": factory.application_recorder()}
            for threads in RECORDER_WRITERS:
                writers: dict[str, list[Any]] = {
                    kind: (
                        [_PostgresWriter(url, "autocommit") for _ in range(threads)]
                        if kind == "raw"
                        else [_RecorderWriter(recorders[kind]) for _ in range(threads)]
                    )
                    for kind in RECORDERS
                }
                try:
                    _measure_in_turns(ctx, threads, writers, total)
                finally:
                    for kind_writers in writers.values():
                        for writer in kind_writers:
                            writer.close()
        finally:
            factory.close()
    for threads in RECORDER_WRITERS:
        figures = {f.key: f.median for f in ctx.figures if f.key.startswith("pg.append.")}
        raw, lib, ours = (figures.get(f"pg.append.{k}.{threads}") for k in RECORDERS)
        if raw and lib and ours:
            ctx.note(
                f"appends, {plural(threads, 'writer')}: ours {ours:,.0f} events/s ="
                f" {100 * ours / raw:.1f} % of raw inserts (goal ≥ 50 %),"
                f" ×{ours / lib:.2f} the library's recorder"
            )


def _measure_in_turns(
    ctx: Context, threads: int, writers: dict[str, list[Any]], total: int
) -> None:
    """One figure per kind of writer, their timed runs interleaved."""
    per_writer = max(1, total // threads)

    def run(kind: str, rows: int) -> float:
        return run_threads([functools.partial(w.write, rows) for w in writers[kind]])

    samples: dict[str, list[float]] = {kind: [] for kind in writers}
    for kind in writers:
        ctx.status(f"{PG}: {kind}, {plural(threads, 'writer')} (warm-up)")
        run(kind, max(5, per_writer // 10))
    for index in range(ctx.config.repeats):
        for kind in writers:
            ctx.status(
                f"{PG}: {kind}, {plural(threads, 'writer')} (run {index + 1}/{ctx.config.repeats})"
            )
            samples[kind].append(per_writer * threads / run(kind, per_writer))
    for kind, label in RECORDERS.items():
        figure = Figure(
            key=f"pg.append.{kind}.{threads}",
            group=PG,
            label=f"(a2) {label}, 1 event/txn, {plural(threads, 'writer')}",
            unit="events/s",
            count=per_writer * threads,
            samples=samples[kind],
        )
        ctx.figures.append(figure)
        spread = f"{min(figure.samples):,.0f}–{max(figure.samples):,.0f}"
        ctx.echo(f"{PG} · {figure.label}: {figure.median:,.0f} events/s (runs {spread})")


# -- (b1) chat turns -----------------------------------------------------------------------


TURNS_LABEL = "(b1) send_message chat turns (2 messages + mood)"


class _ChatTurns:
    """One thread's user talking to their own character.

    A turn stores the user's message, the reply and the character's mood change;
    it is counted as two events (the two messages), as it was before the mood
    existed, so figures stay comparable across versions: events/s ÷ 2 = turns/s.
    """

    def __init__(self, chat: Chat, pair: tuple[UUID, UUID]) -> None:
        self.chat = chat
        self.user_id, self.character_id = pair
        self.sent = 0

    def write(self, events: int) -> None:
        send = self.chat.send_message
        for _ in range(events // 2):
            self.sent += 1
            send(user_id=self.user_id, character_id=self.character_id, text=USER_TEXT)


def _turns(ctx: Context, url: str, folder: Path, group: str, prefix: str) -> None:
    per_thread, n = 2 * ctx.config.turns_per_thread, ctx.config.threads
    with companion(url, folder) as app:
        for threads in (1, n):
            writers = [_ChatTurns(app.chat, user_and_character(app, i)) for i in range(threads)]
            _measure_writers(
                ctx,
                key=f"{prefix}.app.turns.{threads}",
                group=group,
                label=f"{TURNS_LABEL}, {plural(threads, 'thread')}",
                writers=writers,
                per_thread=per_thread,
            )


def postgres_turns(ctx: Context) -> None:
    with (
        postgres_database(ctx.config.admin_url, "turns") as url,
        sqlite_directory("pg-turns") as folder,
    ):
        _turns(ctx, url, folder, PG, "pg")


def sqlite_turns(ctx: Context) -> None:
    with sqlite_directory("turns") as folder:
        _turns(ctx, f"sqlite:///{folder / 'events.db'}", folder, LITE, "sqlite")


# -- (b2) saves of a conversation held in memory -------------------------------------------------


class _ConversationSaves:
    """One thread's conversation, kept in memory: one command and one save an event."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.conversation = Conversation(user_id=uuid4(), character_id=uuid4())
        uow.save(self.conversation)
        self.awaiting: UUID | None = None

    def write(self, events: int) -> None:
        conversation, save = self.conversation, self.uow.save
        for _ in range(events):
            self.awaiting = next_event(conversation, self.awaiting)
            save(conversation)


def _saves(ctx: Context, url: str, folder: Path, group: str, prefix: str) -> None:
    per_thread, n = ctx.config.saves_per_thread, ctx.config.threads
    with companion(url, folder) as app:
        for threads in (1, n):
            writers = [_ConversationSaves(app.uow) for _ in range(threads)]
            _measure_writers(
                ctx,
                key=f"{prefix}.app.save.{threads}",
                group=group,
                label=f"(b2) save_all(conversation), 1 event/save, {plural(threads, 'thread')}",
                writers=writers,
                per_thread=per_thread,
            )
        if prefix == "pg":
            _state_sizes(ctx, url)


def _state_sizes(ctx: Context, url: str) -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT split_part(topic, '.', 4), round(avg(octet_length(state)))"
            " FROM companion_events WHERE topic LIKE '%Conversation.%' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    sizes = ", ".join(f"{topic} {int(size)} B" for topic, size in rows)
    ctx.note(f"stored event state, mean: {sizes} (raw rows carry {len(EVENT_STATE)} B)")


def postgres_saves(ctx: Context) -> None:
    with (
        postgres_database(ctx.config.admin_url, "saves") as url,
        sqlite_directory("pg-saves") as folder,
    ):
        _saves(ctx, url, folder, PG, "pg")


def sqlite_saves(ctx: Context) -> None:
    with sqlite_directory("saves") as folder:
        _saves(ctx, f"sqlite:///{folder / 'events.db'}", folder, LITE, "sqlite")
