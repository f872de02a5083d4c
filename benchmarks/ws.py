"""The WebSocket: idle connections one process holds, a chat turn's overhead, fan-out via Redis.

(a) connections: N idle sockets to one `companion serve` process (spread over
    100 users), held at once; the server's RSS growth per connection; then the
    round trip of a heartbeat while they are all open, one at a time. Beside it,
    in the same run and by the same client, a bare Litestar echo endpoint
    served by uvicorn the same way (the floor of Litestar + uvicorn).
(b) a chat turn's overhead with the offline model (no think time): on one
    socket, frame in → the ack, and frame in → the final chat_response (sent
    once the reply is stored, with its position, not held for the read
    models), p50/p99, on SQLite and on PostgreSQL.
(c) fan-out: two server processes on one PostgreSQL and one Redis; a user's
    turn sent through the first, every frame of it timed from its creation on
    the first process (its `timestamp`) to its arrival on the user's socket on
    the second; the same user's socket on the first process is the baseline.

Every server is a separate process started here on a free loopback port, with
the soft open-file limit raised to the hard one (for the client too). The client
is one asyncio process speaking RFC 6455 itself (a few hundred bytes of state a
socket, so that 10,000 fit): it answers pings, and offers no permessage-deflate,
so the server holds uncompressed sockets (a browser offers deflate; see
reference/measured.md for what that costs). Every loop is bounded in count and
in time. `python -m benchmarks.ws --small` is a quick run for development.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import httpx

from benchmarks.harness import Context, postgres_database
from benchmarks.ws_harness import (
    Server,
    Socket,
    companion_server,
    echo_server,
    raise_open_files,
    serve_echo,
)
from tests.support.personas import PERSONA_INPUT as PERSONA

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
PASSWORD = "correct horse battery staple"
USERS = 100
CONNECT_AT_ONCE = 200


@dataclass(frozen=True)
class Sizes:
    connections: int
    round_trips: int
    turns: int
    fanout_turns: int
    warmup_turns: int
    connect_seconds: float
    phase_seconds: float


FULL = Sizes(10_000, 2_000, 300, 200, 20, 90.0, 30.0)
SMALL = Sizes(500, 200, 40, 20, 5, 30.0, 10.0)


def sizes_for(ctx: Context) -> Sizes:
    """Full sizes, or small ones for a quick run of the whole suite."""
    return SMALL if ctx.config.repeats == 1 and ctx.config.events < 16_000 else FULL


# -- helpers ---------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan"), float("nan")
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def sign_up(base: str, count: int = 1) -> list[tuple[str, str]]:
    """`count` new users, each with a token and a character."""
    made = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(count):
            email = f"bench-{uuid4().hex[:12]}@example.com"
            body = {"email": email, "password": PASSWORD, "name": "Bench", "nickname": "B"}
            http.post("/api/v1/auth/register", json=body).raise_for_status()
            login = http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
            token = login.raise_for_status().json()["access_token"]
            created = http.post(
                "/api/v1/characters", headers={"Authorization": f"Bearer {token}"}, json=PERSONA
            )
            made.append((token, created.raise_for_status().json()["character_id"]))
    return made


@contextlib.contextmanager
def scratch(purpose: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"companion-bench-ws-{purpose}-") as folder:
        yield Path(folder)


# -- (a) idle connections --------------------------------------------------------------------


@dataclass
class Held:
    label: str
    wanted: int
    held: int
    failed: int
    seconds: float
    rss_before_kib: int
    rss_after_kib: int
    round_trips: list[float]

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.held)

    def line(self) -> str:
        p50, p99 = percentiles(self.round_trips)
        return (
            f"{self.label}: {self.held:,} of {self.wanted:,} idle sockets held"
            f" ({self.failed} refused, {self.seconds:.0f} s to open);"
            f" server RSS {self.rss_before_kib / 1024:.0f} → {self.rss_after_kib / 1024:.0f} MiB,"
            f" {self.kib_per_connection:.1f} KiB a socket; heartbeat round trip with all open"
            f" p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(self.round_trips)} round trips)"
        )


async def _hold(
    label: str, server: Server, path: str, tokens: list[str | None], sizes: Sizes
) -> Held:
    warm = await Socket.open(server.port, path, tokens[0])
    await warm.receive()
    await warm.close()
    await asyncio.sleep(0.5)
    before = server.rss_kib()
    sockets: list[Socket] = []
    failed = 0
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    started = time.perf_counter()
    deadline = time.monotonic() + sizes.connect_seconds

    async def one(index: int) -> None:
        nonlocal failed
        if time.monotonic() > deadline:
            return
        async with gate:
            if time.monotonic() > deadline:
                return
            try:
                opened = await Socket.open(server.port, path, tokens[index % len(tokens)])
                await opened.receive(timeout=30)  # connection_status: the server holds it
                sockets.append(opened)
            except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
                failed += 1

    await asyncio.gather(*(one(i) for i in range(sizes.connections)))
    seconds = time.perf_counter() - started
    await asyncio.sleep(1.0)
    after = server.rss_kib()
    round_trips: list[float] = []
    phase_end = time.monotonic() + sizes.phase_seconds
    for index in range(sizes.round_trips):
        if not sockets or time.monotonic() > phase_end:
            break
        target = sockets[(index * 7919) % len(sockets)]
        sent = time.perf_counter()
        target.send("heartbeat", {})
        await target.receive()
        round_trips.append(time.perf_counter() - sent)
    held = len(sockets)
    # Killed, not stopped: a graceful stop would record 10,000 sessions ending first.
    server.kill()
    await asyncio.gather(*(s.close() for s in sockets))
    return Held(label, sizes.connections, held, failed, seconds, before, after, round_trips)


def connections(ctx: Context) -> None:
    sizes = sizes_for(ctx)
    raise_open_files()
    for line in asyncio.run(_connections(sizes)):
        ctx.note(line)


async def _connections(sizes: Sizes) -> list[str]:
    lines = []
    with scratch("connections") as folder:
        ours = companion_server(folder, "companion")
        ours.start("/health")
        try:
            users = await asyncio.to_thread(sign_up, ours.base, USERS)
            tokens: list[str | None] = [token for token, _ in users]
            held = await _hold("companion /api/v1/ws", ours, "/api/v1/ws", tokens, sizes)
            lines.append(held.line())
        finally:
            await asyncio.to_thread(ours.stop)
        echo = echo_server(folder)
        echo.start("/health")
        try:
            bare = await _hold("bare Litestar echo", echo, "/echo", [None], sizes)
            lines.append(bare.line())
        finally:
            await asyncio.to_thread(echo.stop)
    if bare.kib_per_connection > 0:
        lines.append(
            f"companion holds a socket in {held.kib_per_connection / bare.kib_per_connection:.1f}×"
            " the memory of the bare echo"
        )
    return lines


# -- (b) a chat turn's overhead ------------------------------------------------------------


async def _turns(server: Server, sizes: Sizes) -> dict[str, list[float]]:
    """Seconds from each chat_message sent to its ack, its last delta and its final reply."""
    ((token, character),) = await asyncio.to_thread(sign_up, server.base)
    socket = await Socket.open(server.port, "/api/v1/ws", token)
    await socket.receive()
    timings: dict[str, list[float]] = {"ack": [], "delta": [], "final": []}
    deadline = time.monotonic() + sizes.phase_seconds
    try:
        for index in range(sizes.warmup_turns + sizes.turns):
            if time.monotonic() > deadline:
                break
            sent = time.time()
            socket.send("chat_message", {"character_id": character, "text": f"hello {index}"})
            seen: dict[str, float] = {}
            while True:
                arrived, frame = await socket.receive()
                kind = frame["type"]
                if kind == "error":
                    raise RuntimeError(frame["payload"])
                if kind == "chat_message":
                    seen.setdefault("ack", arrived - sent)
                elif kind == "chat_response" and frame["payload"]["done"]:
                    seen["final"] = arrived - sent
                elif kind == "chat_response":
                    seen["delta"] = arrived - sent
                elif kind == "avatar_expression":
                    break
            if index >= sizes.warmup_turns and len(seen) == len(timings):
                for key, value in seen.items():
                    timings[key].append(value)
    finally:
        await socket.close()
    return timings


def _turn_line(backend: str, timings: dict[str, list[float]], goal_ms: float) -> str:
    ack50, ack99 = percentiles(timings["ack"])
    delta50, delta99 = percentiles(timings["delta"])
    done50, done99 = percentiles(timings["final"])
    verdict = "met" if done99 < goal_ms else "not met"
    return (
        f"WebSocket chat turn, {backend}, offline model, no think time"
        f" ({len(timings['final'])} turns): frame in → ack p50 {ack50:.1f} ms,"
        f" p99 {ack99:.1f} ms; frame in → final reply p50 {done50:.1f} ms,"
        f" p99 {done99:.1f} ms (goal p99 < {goal_ms:.0f} ms: {verdict}); of which the reply"
        f" was streamed by its last delta at p50 {delta50:.1f} ms, p99 {delta99:.1f} ms"
        " (then the reply is stored, and the final frame sent)"
    )


def sqlite_turns(ctx: Context) -> None:
    ctx.note(asyncio.run(_sqlite_turns(sizes_for(ctx))))


async def _sqlite_turns(sizes: Sizes) -> str:
    with scratch("turns") as folder:
        server = companion_server(folder, "sqlite")
        server.start("/health")
        try:
            timings = await _turns(server, sizes)
        finally:
            await asyncio.to_thread(server.stop)
    return _turn_line("SQLite", timings, 10)


def postgres_turns(ctx: Context) -> None:
    ctx.note(asyncio.run(_postgres_turns(sizes_for(ctx), ctx.config.admin_url)))


async def _postgres_turns(sizes: Sizes, admin_url: str) -> str:
    with scratch("turns-pg") as folder, postgres_database(admin_url, "ws") as url:
        server = companion_server(folder, "postgres", COMPANION_DATABASE_URL=url)
        server.start("/health")
        try:
            timings = await _turns(server, sizes)
        finally:
            await asyncio.to_thread(server.stop)
    return _turn_line("PostgreSQL", timings, 20)


# -- (c) fan-out through Redis ---------------------------------------------------------------


def fanout(ctx: Context) -> None:
    redis_url = os.environ.get("COMPANION_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    ctx.note(asyncio.run(_fanout(sizes_for(ctx), ctx.config.admin_url, redis_url)))


async def _fanout(sizes: Sizes, admin_url: str, redis_url: str) -> str:
    with scratch("fanout") as folder, postgres_database(admin_url, "fanout") as url:
        common = {"COMPANION_DATABASE_URL": url, "COMPANION_REDIS_URL": redis_url}
        first = companion_server(folder, "a", **common)
        second = companion_server(folder, "b", **common, COMPANION_EMBEDDED_PROJECTIONS="false")
        first.start("/health")
        try:
            second.start("/health")
            try:
                return await _deliveries(first, second, sizes)
            finally:
                await asyncio.to_thread(second.stop)
        finally:
            await asyncio.to_thread(first.stop)


async def _deliveries(first: Server, second: Server, sizes: Sizes) -> str:
    ((token, character),) = await asyncio.to_thread(sign_up, first.base)
    here = await Socket.open(first.port, "/api/v1/ws", token)
    there = await Socket.open(second.port, "/api/v1/ws", token)
    await here.receive()
    await there.receive()
    local: list[float] = []
    remote: list[float] = []
    arrivals: dict[str, dict[str, float]] = {"here": {}, "there": {}}
    deadline = time.monotonic() + sizes.phase_seconds
    try:
        # The second process hears Redis once its listener is subscribed: wait for the
        # first turn to arrive there before timing.
        for index in range(sizes.warmup_turns + sizes.fanout_turns):
            if time.monotonic() > deadline:
                break
            here.send("chat_message", {"character_id": character, "text": f"hello {index}"})
            for name, socket, samples in (("here", here, local), ("there", there, remote)):
                while True:
                    arrived, frame = await socket.receive(timeout=20)
                    stamp = datetime.fromisoformat(frame["timestamp"]).timestamp()
                    if index >= sizes.warmup_turns:
                        samples.append(arrived - stamp)
                        arrivals[name][frame["id"]] = arrived
                    if frame["type"] == "avatar_expression":
                        break
    finally:
        await here.close()
        await there.close()
    local50, local99 = percentiles(local)
    p50, p99 = percentiles(remote)
    hops = [
        at - arrivals["here"][i] for i, at in arrivals["there"].items() if i in arrivals["here"]
    ]
    hop50, hop99 = percentiles(hops)
    verdict = "met" if p99 < 50 else "not met"
    return (
        f"fan-out through Redis between two processes ({sizes.fanout_turns} turns,"
        f" {len(remote):,} frames): frame made on A → on the socket of B p50 {p50:.2f} ms,"
        f" p99 {p99:.2f} ms (goal p99 < 50 ms: {verdict}); the same frames on A's own"
        f" socket p50 {local50:.2f} ms, p99 {local99:.2f} ms; B later than A by p50"
        f" {hop50:.2f} ms, p99 {hop99:.2f} ms (the Redis hop)"
    )


# -- on its own ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ws", description=__doc__)
    parser.add_argument("--small", action="store_true", help="small sizes, for development")
    parser.add_argument("--only", choices=("connections", "turns", "fanout"), default=None)
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_server:
        serve_echo(args.port)
        return 0
    sizes = SMALL if args.small else FULL
    if args.connections:
        sizes = Sizes(args.connections, *list(vars(sizes).values())[1:])
    raise_open_files()
    redis_url = os.environ.get("COMPANION_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    lines: list[str] = []
    if args.only in (None, "connections"):
        lines += asyncio.run(_connections(sizes))
    if args.only in (None, "turns"):
        lines.append(asyncio.run(_sqlite_turns(sizes)))
        lines.append(asyncio.run(_postgres_turns(sizes, args.admin_url)))
    if args.only in (None, "fanout"):
        lines.append(asyncio.run(_fanout(sizes, args.admin_url, redis_url)))
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
