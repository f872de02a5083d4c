"""REST chat turns on PostgreSQL with the offline model: latency, and statements per turn.

The real Litestar app is served by uvicorn on a local port (in this process, in
a thread) and spoken to over HTTP by one client, one turn after another: the
latency is a whole request (auth, the turn, read-your-writes), as a client sees
it. Two set-ups, each on a throwaway database:

- embedded: the API process runs the projection runner itself;
- worker: the API process runs none; ``companion projections run`` is a
  separate process.

Statements and round trips are read off the wire (tests.support.wire: libpq's
protocol trace of every connection of the API process's pools, the event
store's and the read models'), over turns apart from the timed ones so that
tracing costs the timed turns nothing. The worker's own statements are not
counted. Run alone: ``python -m benchmarks.turns [--turns N]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from benchmarks.harness import (
    USER_TEXT,
    Context,
    Figure,
    postgres_database,
    sqlite_directory,
    wait_for_postgres,
)
from companion.app.api.app import create_app
from companion.app.bootstrap import Companion, bootstrap
from companion.app.settings import Settings
from tests.support.personas import PERSONA_INPUT as PERSONA
from tests.support.wire import Traffic, Wire

GROUP = "PostgreSQL REST chat turns (offline model)"
DEFAULT_TURNS = 300
WARMUP_TURNS = 20
COUNTED_TURNS = 40
PASSWORD = "correct horse battery staple"
MODES = ("embedded", "worker")


@dataclass
class TurnRun:
    mode: str
    turns: int
    latencies_ms: list[float]
    counted_turns: int
    traffic: Traffic
    by_pool: dict[str, Traffic] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def per_turn(self, count: int) -> float:
        return count / self.counted_turns


def _settings(url: str, folder: Path, *, embedded: bool) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "data_dir": folder,
        "cipher_key": None,
        "compress_events": False,
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        # Every benchmark user signs up from this one address.
        "registrations_per_address": 1_000_000,
        "postgres_pool_size": 4,
        "embedded_projections": embedded,
        "catalogue_defaults": False,
        "daily_life": False,
        "llm": "offline",
        "log_level": "WARNING",
        # Every turn of the run is admitted, whatever the tier's allowance.
        "messages_per_minute": 1_000_000,
        "messages_per_day": 1_000_000,
    }
    known = Settings.model_fields
    return Settings(  # type: ignore[call-arg]  # pydantic-settings' init-only option
        _env_file=None, **{k: v for k, v in values.items() if k in known}
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _served(companion: Companion, *, embedded: bool) -> Iterator[str]:
    app = create_app(companion, run_projections=embedded)
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def _worker(url: str, folder: Path) -> Iterator[None]:
    env = {
        **os.environ,
        "COMPANION_DATA_DIR": str(folder),
        "COMPANION_LOG_LEVEL": "WARNING",
        "COMPANION_LOG_FORMAT": "json",
        "COMPANION_DAILY_LIFE": "false",
        "COMPANION_CATALOGUE_DEFAULTS": "false",
    }
    code = "import sys; from companion.app.cli import main; sys.argv[0] = 'companion'; main()"
    with (folder / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code, "--database-url", url, "projections", "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _sign_up(client: httpx.Client) -> tuple[dict[str, str], str]:
    email = f"bench-{time.monotonic_ns()}@example.com"
    body = {"email": email, "password": PASSWORD, "name": "Bench", "nickname": "bench"}
    client.post("/api/v1/auth/register", json=body).raise_for_status()
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = client.post("/api/v1/characters", headers=headers, json=PERSONA)
    created.raise_for_status()
    return headers, created.json()["character_id"]


def run_turns(admin_url: str, *, mode: str, turns: int, counted: int = COUNTED_TURNS) -> TurnRun:
    """`turns` timed REST chat turns, then `counted` more with their statements counted."""
    embedded = mode == "embedded"
    with (
        postgres_database(admin_url, f"rest_{mode}") as url,
        sqlite_directory(f"rest-{mode}") as folder,
    ):
        companion = bootstrap(_settings(url, folder, embedded=embedded))
        wire = Wire(folder)
        worker = _worker(url, folder) if not embedded else None
        try:
            if worker is not None:
                worker.__enter__()
            with (
                _served(companion, embedded=embedded) as base,
                httpx.Client(base_url=base, timeout=30) as client,
            ):
                headers, character = _sign_up(client)
                path = f"/api/v1/characters/{character}/messages"

                def turn() -> float:
                    started = time.perf_counter()
                    answer = client.post(path, headers=headers, json={"text": USER_TEXT})
                    elapsed = time.perf_counter() - started
                    answer.raise_for_status()
                    if answer.headers.get("x-consistency") != "applied":
                        raise RuntimeError("a turn was answered before its read models applied it")
                    return elapsed * 1000

                for _ in range(WARMUP_TURNS):
                    turn()
                latencies = [turn() for _ in range(turns)]
                # Trace from here on: every pooled connection, once it is next handed out.
                pools = _pools(companion)
                for label, pool in pools.items():
                    wire.watch(pool, label)
                for _ in range(WARMUP_TURNS):
                    turn()
                before = {label: wire.traffic(label) for label in pools}
                for _ in range(counted):
                    turn()
                by_pool = {label: wire.traffic(label) - before[label] for label in pools}
        finally:
            wire.close()
            if worker is not None:
                worker.__exit__(None, None, None)
    total = Traffic()
    for traffic in by_pool.values():
        total = total + traffic
    return TurnRun(mode, turns, latencies, counted, total, by_pool)


def _pools(companion: Companion) -> dict[str, Any]:
    pools: dict[str, Any] = {}
    for label, owner in (("events", companion.application.recorder), ("views", companion.views)):
        pool = getattr(getattr(owner, "datastore", None), "pool", None)
        if pool is not None and all(pool is not p for p in pools.values()):
            pools[label] = pool
    return pools


def describe(run: TurnRun, top: int = 12) -> list[str]:
    t = run.traffic
    lines = [
        f"{run.mode}: {run.turns} turns, p50 {run.percentile(50):.1f} ms, "
        f"p99 {run.percentile(99):.1f} ms, mean {statistics.fmean(run.latencies_ms):.1f} ms; "
        f"over {run.counted_turns} more turns: {run.per_turn(t.statements):.1f} statements and "
        f"{run.per_turn(t.round_trips):.1f} round trips a turn ("
        + ", ".join(
            f"{label} {run.per_turn(p.statements):.1f} / {run.per_turn(p.round_trips):.1f}"
            for label, p in run.by_pool.items()
        )
        + ")"
    ]
    common: Counter[str] = t.by_statement
    for statement, count in common.most_common(top):
        lines.append(f"    {run.per_turn(count):5.2f}  {statement[:100]}")
    return lines


def postgres_rest_turns(ctx: Context) -> None:
    turns = max(50, min(DEFAULT_TURNS, ctx.config.events // 50))
    for mode in MODES:
        ctx.status(f"{GROUP}: {mode}")
        run = run_turns(ctx.config.admin_url, mode=mode, turns=turns)
        how = "embedded runner" if mode == "embedded" else "separate worker"
        for key, label, unit, value in (
            ("p50", "p50", "ms", run.percentile(50)),
            ("p99", "p99", "ms", run.percentile(99)),
            ("statements", "statements a turn (API process)", "statements", 0.0),
            ("round_trips", "round trips a turn (API process)", "round trips", 0.0),
        ):
            if key == "statements":
                value = run.per_turn(run.traffic.statements)
            elif key == "round_trips":
                value = run.per_turn(run.traffic.round_trips)
            ctx.figures.append(
                Figure(
                    key=f"pg.rest.turn.{mode}.{key}",
                    group=GROUP,
                    label=f"REST chat turn, {how}: {label}",
                    unit=unit,
                    count=run.turns if unit == "ms" else run.counted_turns,
                    samples=[value],
                )
            )
        for line in describe(run):
            ctx.note(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.turns", description=__doc__)
    parser.add_argument("--turns", type=int, default=DEFAULT_TURNS, help="timed turns a mode")
    parser.add_argument("--counted", type=int, default=COUNTED_TURNS, help="counted turns a mode")
    parser.add_argument("--mode", choices=("all", *MODES), default="all")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    from companion.app.logging import configure_logging

    configure_logging("WARNING", "console")
    wait_for_postgres(args.database_url)
    for mode in MODES if args.mode == "all" else (args.mode,):
        run = run_turns(args.database_url, mode=mode, turns=args.turns, counted=args.counted)
        print("\n".join(describe(run, top=25)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
