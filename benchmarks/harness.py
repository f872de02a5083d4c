"""What every benchmark shares: sizes, timing, threads, throwaway databases, a wired app."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from companion.app.bootstrap import Companion, bootstrap
from companion.app.settings import Settings
from companion.domain.characters import Persona
from companion.domain.chat import ChatReply, ChatRequest
from companion.domain.conversations import Conversation

THREADS = 4
# The application snapshots a conversation every 200 events and a chat turn is two
# events, so a run that covers whole multiples of 100 turns (or 200 saves) a thread
# replays, on average, the same number of events per load whatever it starts from.
TURNS_PER_SNAPSHOT = 100
SAVES_PER_SNAPSHOT = 200

USER_TEXT = (
    "今日は仕事が長かったけど、帰り道の夕焼けがすごくきれいだったよ。そっちはどう過ごしてた?"
)
REPLY_TEXT = (
    "おつかれさま!夕焼け、見られてよかったね。私は本を読みながら、"
    "あなたの話を聞くのを楽しみに待ってたよ。今夜はゆっくり休んでね。"
)
EVENT_TOPIC = "companion.domain.conversations:Conversation.UserMessageSent"
# 300 bytes, about the size of a stored UserMessageSent (JSON state, no cipher).
EVENT_STATE = (
    b'{"message_id":{"_type_":"uuid_hex","_data_":"5f0c3c1e5b7e4a579a0e6e1c0b2f6d21"},'
    b'"text":"today was long but the sunset on the way home was beautiful, how was yours?",'
    b'"client_message_id":null,"timestamp":{"_type_":"datetime_iso",'
    b'"_data_":"2026-11-25T14:00:00.000000+00:00"}}'
).ljust(300)


def _aligned(value: int, unit: int) -> int:
    """`value` rounded down to a multiple of `unit` when it is at least one unit."""
    return value - value % unit if value >= unit else max(1, value)


@dataclass(frozen=True)
class Config:
    events: int
    """Size of the event log the catch-up benchmarks read; the append runs are fractions of it."""
    repeats: int
    admin_url: str
    backends: tuple[str, ...] = ("postgres", "sqlite")
    threads: int = THREADS

    @property
    def raw_rows_per_thread(self) -> int:
        return max(20, self.events // 16)

    @property
    def turns_per_thread(self) -> int:
        return _aligned(self.events // 160, TURNS_PER_SNAPSHOT)

    @property
    def saves_per_thread(self) -> int:
        return _aligned(self.events // 40, SAVES_PER_SNAPSHOT)

    @property
    def log_events(self) -> int:
        return self.events


@dataclass
class Figure:
    key: str
    group: str
    label: str
    unit: str
    count: int
    """Items (rows or events) per timed run."""
    samples: list[float]
    """Items per second, one per timed run."""
    diagnostic: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Context:
    """What a scenario reports to: the sizes, the results and the progress display."""

    config: Config
    status: Callable[[str], None]
    echo: Callable[[str], None]
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def measure(
        self,
        *,
        key: str,
        group: str,
        label: str,
        unit: str,
        count: int,
        run: Callable[[], float],
        warmup: Callable[[], Any] | None = None,
        setup: Callable[[], Any] | None = None,
        diagnostic: bool = False,
    ) -> Figure:
        """Warm up once (untimed), then time `run` (which returns its own seconds) a few times."""
        if warmup is not None:
            self.status(f"{group}: {label} (warm-up)")
            warmup()
        samples = []
        for index in range(self.config.repeats):
            if setup is not None:
                self.status(f"{group}: {label} (setting up run {index + 1})")
                setup()
            self.status(f"{group}: {label} (run {index + 1}/{self.config.repeats})")
            seconds = run()
            samples.append(count / seconds)
        figure = Figure(key, group, label, unit, count, samples, diagnostic)
        self.figures.append(figure)
        spread = f"{min(samples):,.0f}–{max(samples):,.0f}"
        self.echo(f"{group} · {label}: {figure.median:,.0f} {unit} (runs {spread})")
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.echo(text)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def run_threads(workers: Sequence[Callable[[], Any]]) -> float:
    """Start one thread per worker at the same instant; seconds until the last one ends."""
    barrier = threading.Barrier(len(workers) + 1)
    errors: list[BaseException] = []

    def target(work: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=target, args=(work,), daemon=True) for work in workers]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# -- throwaway databases ---------------------------------------------------------------


def wait_for_postgres(admin_url: str, timeout: float = 60.0) -> None:
    """The server may be restarting (tests start and stop it); give it a minute."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(admin_url, connect_timeout=3):
                return
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)


def database_url(admin_url: str, name: str) -> str:
    return urlsplit(admin_url)._replace(path=f"/{name}", query="").geturl()


@contextmanager
def postgres_database(admin_url: str, purpose: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one scenario, dropped afterwards; yields its URL."""
    wait_for_postgres(admin_url)
    name = f"companion_bench_{purpose}_{uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(admin_url, name)
    finally:
        wait_for_postgres(admin_url)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def sqlite_directory(purpose: str) -> Iterator[Path]:
    """A fresh folder for one scenario's SQLite files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"companion-bench-{purpose}-") as folder:
        yield Path(folder)


# -- the application ------------------------------------------------------------------


class InstantChatModel:
    """A chat model that answers at once, so a chat turn costs only the store and the app."""

    name = "bench"

    def reply(self, request: ChatRequest) -> ChatReply:
        return ChatReply(text=REPLY_TEXT, model="bench")


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]  # pydantic-settings' init-only option
        _env_file=None,
        database_url=url,
        data_dir=data_dir,
        cipher_key=None,
        compress_events=False,
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        postgres_pool_size=2 * THREADS,
        projection_batch_size=500,
        # The log holds exactly what a benchmark wrote: no default store catalogue.
        catalogue_defaults=False,
        daily_life=False,
    )


@contextmanager
def companion(url: str, data_dir: Path) -> Iterator[Companion]:
    app = bootstrap(settings_for(url, data_dir), chat_model=InstantChatModel())
    try:
        yield app
    finally:
        app.close()


PERSONA = Persona.parse(
    name="Haruto Sato",
    nickname="Haru",
    gender="boyfriend",
    age=27,
    personality={
        "kindness": 0.8,
        "humor": 0.4,
        "seriousness": 0.3,
        "activeness": 0.5,
        "empathy": 0.6,
    },
    occupation="barista",
    hobbies=["hiking", "coffee"],
)


def user_and_character(app: Companion, index: int) -> tuple[UUID, UUID]:
    """A registered user with a character of their own: one conversation per thread."""
    user_id = app.accounts.register(
        email=f"bench-{index}-{uuid4().hex[:8]}@example.com",
        password="correct horse battery staple",
        name=f"Bench {index}",
        nickname=f"bench{index}",
    )
    character_id, _ = app.characters.create_character(user_id=user_id, persona=PERSONA)
    return user_id, character_id


def next_event(conversation: Conversation, awaiting: UUID | None) -> UUID | None:
    """Append the next event of a chat: the user's message, or the reply it awaits.

    Returns the message now awaiting a reply (None after a reply).
    """
    if awaiting is None:
        return conversation.send_user_message(USER_TEXT, client_message_id=None, message_id=uuid4())
    conversation.reply(
        in_reply_to=awaiting,
        text=REPLY_TEXT,
        model="bench",
        latency_ms=1,
        prompt_tokens=0,
        completion_tokens=0,
        fallback=False,
    )
    return None
