"""A bounded mixed load on loopback: one API process, then two, beside two projection workers.

Each set-up gets a throwaway PostgreSQL database and a prefix of its own in
Redis (database 9); API processes run with COMPANION_EMBEDDED_PROJECTIONS=false
and cheap Argon2; two `companion projections run` workers share the read models.
Virtual users (benchmarks.load_clients) with think times drive them for a fixed
time. Reported: each operation's count, rate, p50 / p99, 429s and errors; RSS of
each process and of an idle socket; CPU of each process and of PostgreSQL (from
/proc); what PostgreSQL's backends waited on; commits and WAL flushes a second;
py-spy's view of the first API process; a REST turn's overhead (its latency less
the offline model's own time, timed in-process on the same prompts).
`python -m benchmarks.load [--quick] [--users N] [--seconds S] [--apis 1,2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import psycopg
import redis

from benchmarks import load_clients as clients
from benchmarks.harness import Context, Figure, postgres_database, wait_for_postgres
from benchmarks.ws_harness import (
    COMPANION,
    ROOT,
    Server,
    companion_server,
    raise_open_files,
)
from tests.support.settings import CHEAP_ENVIRONMENT

GROUP = "PostgreSQL mixed load (offline model)"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
METRICS_TOKEN = "bench-load-metrics"
OVERHEAD_GOAL_MS = 20.0
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sizes:
    users: int
    seconds: float
    think: tuple[float, float]
    idle_sockets: int
    profile_seconds: int


FULL = Sizes(40, 30.0, (0.5, 1.5), 1000, 10)
QUICK = Sizes(20, 10.0, (0.5, 1.5), 200, 4)


# -- the processes ---------------------------------------------------------------------


@dataclass
class Deployment:
    apis: list[Server]
    workers: list[subprocess.Popen[bytes]]
    database: str

    @property
    def bases(self) -> list[str]:
        return [api.base for api in self.apis]

    def pids(self) -> dict[str, int]:
        named = {f"api {i + 1}": a.process.pid for i, a in enumerate(self.apis) if a.process}
        named.update({f"worker {i + 1}": w.pid for i, w in enumerate(self.workers)})
        return named


@contextmanager
def deployment(admin_url: str, redis_url: str, apis: int) -> Iterator[Deployment]:
    """`apis` API processes and two workers on a fresh database and a fresh Redis prefix."""
    prefix = f"bench-load-{uuid4().hex[:8]}:"
    with (
        postgres_database(admin_url, f"load{apis}") as url,
        tempfile.TemporaryDirectory(prefix="companion-bench-load-") as folder,
    ):
        env = {
            **CHEAP_ENVIRONMENT,
            "COMPANION_DATABASE_URL": url,
            "COMPANION_REDIS_URL": redis_url,
            "COMPANION_REDIS_PREFIX": prefix,
            "COMPANION_EMBEDDED_PROJECTIONS": "false",
            "COMPANION_METRICS_TOKEN": METRICS_TOKEN,
            "COMPANION_WS_MAX_SOCKETS_PER_USER": "1000",
        }
        started: list[Server] = []
        workers: list[subprocess.Popen[bytes]] = []
        try:
            for index in range(apis):
                # The first process lists the default catalogue; the others find it.
                defaults = "true" if index == 0 else "false"
                # One data directory, as one deployment's configuration: one JWT secret.
                api = companion_server(
                    Path(folder), f"api{index + 1}", **env, COMPANION_CATALOGUE_DEFAULTS=defaults
                )
                api.start("/health")
                started.append(api)
            worker_env = {**started[0].env, "COMPANION_CATALOGUE_DEFAULTS": "false"}
            command = [str(COMPANION), "projections", "run"]
            for index in range(2):
                with (Path(folder) / f"worker{index + 1}.log").open("wb") as log:
                    out = subprocess.STDOUT
                    workers.append(
                        subprocess.Popen(command, env=worker_env, cwd=ROOT, stdout=log, stderr=out)
                    )
            _wait_ready(started[0].base)
            # The second worker takes its share of the read models at its next try (2 s).
            time.sleep(3.0)
            yield Deployment(started, workers, urlsplit(url).path.lstrip("/"))
        finally:
            for api in started:
                api.stop()
            for worker in workers:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
            _forget(redis_url, prefix)


def _wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(httpx.TransportError):
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the API process never became ready")


def _forget(redis_url: str, prefix: str) -> None:
    with suppress(Exception):
        store = redis.Redis.from_url(redis_url)
        for key in store.scan_iter(match=f"{prefix}*", count=1000):
            store.delete(key)
        store.close()


# -- what the machine did --------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kib(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process, PostgreSQL's and Redis's summed."""
    used = {name: cpu_seconds(pid) for name, pid in pids.items()}
    for name, command in (("postgres (all)", "postgres"), ("redis", "redis-server")):
        used[name] = 0.0
        for entry in Path("/proc").iterdir():
            with suppress(OSError, IndexError, ValueError):
                if entry.name.isdigit() and (entry / "comm").read_text().strip() == command:
                    used[name] += cpu_seconds(int(entry.name))
    used["load client"] = sum(os.times()[:2])
    return used


@dataclass
class Watch:
    """PostgreSQL while the load runs: what its backends wait on, commits, WAL flushes."""

    admin_url: str
    database: str
    waits: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def counters(self) -> dict[str, float]:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT xact_commit, tup_inserted FROM pg_stat_database WHERE datname = %s",
                (self.database,),
            ).fetchone()
            wal = conn.execute(
                "SELECT wal_records, wal_sync, wal_bytes FROM pg_stat_wal"
            ).fetchone()
        assert row is not None
        assert wal is not None
        names = ("commits", "rows inserted", "wal records", "wal flushes", "wal bytes")
        return dict(zip(names, (float(x) for x in (*row, *wal)), strict=True))

    def sample(self) -> None:
        query = (
            "SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') FROM "
            "pg_stat_activity WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                self.samples += 1
                for (what,) in conn.execute(query, (self.database,)).fetchall():
                    self.waits[what] += 1


# -- where the API process's time goes -------------------------------------------------

CATEGORIES = (
    ("offline model", ("adapters/llm/",)),
    ("Argon2", ("argon2",)),
    ("psycopg", ("psycopg",)),
    ("Redis", ("redis",)),
    ("JSON / msgspec / pydantic", ("json", "msgspec", "pydantic")),
    ("memory recall", ("memor", "recall", "embedding")),
    ("sentiment / emotion", ("sentiment", "emotion", "mood")),
    ("domain / event store", ("companion/domain", "eventsourcing", "adapters/")),
    ("companion app", ("companion/app",)),
    ("Litestar", ("litestar",)),
    ("uvicorn / h11 / websockets", ("uvicorn", "h11", "websockets")),
    ("asyncio / threads", ("asyncio", "anyio", "threading", "concurrent")),
)
"""A stack counts for the first category its innermost frames fall in."""


def profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return None
    command = [spy, "record", "-d", str(seconds), "-r", "200", "--nonblocking"]
    return subprocess.Popen(
        [*command, "-f", "raw", "-o", str(out), "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def where_time_goes(raw: Path, top: int = 6) -> list[str]:
    """Shares of py-spy's samples: by category, and the hottest innermost frames."""
    if not raw.exists():
        return ["py-spy wrote no profile (ptrace not permitted?)"]
    shares: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        ours = [f for f in frames if "companion/" in f and "site-packages" not in f]
        function, _, where = (ours or frames)[-1].partition(" (")
        leaves[f"{function} ({where.rsplit('/', 1)[-1]}"] += int(count)
        found = (
            n for f in reversed(frames) for n, marks in CATEGORIES if any(m in f for m in marks)
        )
        shares[next(found, "other")] += int(count)
    total = sum(shares.values())
    if not total:
        return ["py-spy sampled nothing"]
    return [
        f"py-spy, API process 1, {total:,} samples of busy threads: "
        + ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in shares.most_common()),
        "  innermost frames (of companion's own code where a stack has one): "
        + "; ".join(f"{leaf} {100 * n / total:.1f} %" for leaf, n in leaves.most_common(top)),
    ]


# -- one run -----------------------------------------------------------------------------


@dataclass
class Outcome:
    apis: int
    sizes: Sizes
    seconds: float
    tally: clients.Tally
    rss_kib: dict[str, int]
    peak_kib: dict[str, int]
    cpu: dict[str, float]  # share of one core over the load, by process
    postgres: dict[str, float]  # a second, over the load
    waits: Counter[str]
    wait_samples: int
    sockets_held: int
    kib_a_socket: float
    served_model_ms: float
    load_average: tuple[float, float, float]
    profile: list[str]


def run_load(
    admin_url: str, redis_url: str, apis: int, sizes: Sizes, *, profiled: bool = True
) -> Outcome:
    raise_open_files()
    with deployment(admin_url, redis_url, apis) as d, tempfile.TemporaryDirectory() as scratch:
        pids = d.pids()
        watch = Watch(admin_url, d.database)
        raw = Path(scratch) / "api1.txt"
        spies: list[subprocess.Popen[bytes] | None] = []
        timer = threading.Timer(
            sizes.seconds / 3,
            lambda: spies.append(profile(pids["api 1"], sizes.profile_seconds, raw)),
        )
        sampler = threading.Thread(target=watch.sample, daemon=True)
        asyncio.run(clients.warm_up(d.bases))
        cpu_before, pg_before = cpu_of(pids), watch.counters()
        started = time.perf_counter()
        sampler.start()
        if profiled:
            timer.start()
        tally = asyncio.run(clients.drive(d.bases, sizes.users, sizes.seconds, sizes.think))
        seconds = time.perf_counter() - started
        watch.stop.set()
        cpu_after, pg_after = cpu_of(pids), watch.counters()
        load_average = os.getloadavg()
        rss = {name: memory_kib(pid) for name, pid in pids.items()}
        peak = {name: memory_kib(pid, "VmHWM") for name, pid in pids.items()}
        served = clients.served_model_ms(d.bases, METRICS_TOKEN)
        sampler.join()
        timer.cancel()
        for spy in spies:
            if spy is not None:
                with suppress(subprocess.TimeoutExpired):
                    spy.wait(timeout=sizes.profile_seconds + 30)

        def api_rss() -> int:
            return sum(memory_kib(pid) for name, pid in pids.items() if "api" in name)

        held, kib = asyncio.run(clients.hold_idle(d.bases, sizes.idle_sockets, api_rss))
        lines = where_time_goes(raw) if profiled else []
    return Outcome(
        apis=apis,
        sizes=sizes,
        seconds=seconds,
        tally=tally,
        rss_kib=rss,
        peak_kib=peak,
        cpu={k: (cpu_after[k] - cpu_before.get(k, 0.0)) / seconds for k in cpu_after},
        postgres={k: (pg_after[k] - pg_before[k]) / seconds for k in pg_after},
        waits=watch.waits,
        wait_samples=watch.samples,
        sockets_held=held,
        kib_a_socket=kib,
        served_model_ms=served,
        load_average=load_average,
        profile=lines,
    )


# -- the report --------------------------------------------------------------------------


def _turns_ms(o: Outcome, model_p50: float) -> tuple[float, float, float, float]:
    turns = o.tally.seconds.get("rest turn", [])
    p50, p99 = clients.percentile(turns, 50) * 1000, clients.percentile(turns, 99) * 1000
    return p50, p99, p50 - model_p50, p99 - model_p50


def describe(o: Outcome, model: tuple[float, float]) -> list[str]:
    t, s = o.tally, o.seconds
    done = sum(len(v) for v in t.seconds.values())
    errors, limited = sum(t.errors.values()), sum(t.limited.values())
    plural = "es" if o.apis > 1 else ""
    lines = [
        f"{o.apis} API process{plural} + 2 workers: {o.sizes.users} users for {s:.0f} s, think "
        f"{o.sizes.think[0]}–{o.sizes.think[1]} s; {done:,} requests done, {done / s:.1f}/s; "
        f"errors {errors} (goal 0), 429s {limited}; load average at end "
        + " ".join(f"{x:.2f}" for x in o.load_average)
    ]
    lines += t.rows(s)
    p50, p99, over50, over99 = _turns_ms(o, model[0])
    verdict = "met" if over99 < OVERHEAD_GOAL_MS else "not met"
    lines.append(
        f"  REST turn p50 {p50:.1f} / p99 {p99:.1f} ms; the model's own time p50 {model[0]:.2f}"
        f" ms, p99 {model[1]:.2f} ms in-process (served: mean {o.served_model_ms:.2f} ms);"
        f" overhead p50 {over50:.1f} ms, p99 {over99:.1f} ms (goal p99 < {OVERHEAD_GOAL_MS:.0f}"
        f" ms at {len(t.seconds.get('rest turn', [])) / s:.1f} REST turns/s: {verdict})"
    )
    lines.append(
        "  RSS at end (peak): "
        + ", ".join(
            f"{k} {o.rss_kib[k] / 1024:.0f} MiB ({o.peak_kib[k] / 1024:.0f})" for k in o.rss_kib
        )
        + f"; an idle socket {o.kib_a_socket:.1f} KiB ({o.sockets_held:,} held)"
    )
    lines.append(
        "  CPU, share of one core: "
        + ", ".join(f"{k} {100 * v:.0f} %" for k, v in o.cpu.items())
        + f"; sum {100 * sum(o.cpu.values()):.0f} % of {os.cpu_count()} cores"
    )
    pg = o.postgres
    lines.append(
        f"  PostgreSQL: {pg['commits']:.0f} commits/s, {pg['rows inserted']:.0f} rows inserted/s,"
        f" {pg['wal flushes']:.0f} WAL flushes/s, {pg['wal bytes'] / 1024:.0f} KiB WAL/s"
    )
    seen = sum(o.waits.values())
    if seen:
        lines.append(
            f"  PostgreSQL backends active on average {seen / max(1, o.wait_samples):.2f}: "
            + ", ".join(f"{k} {100 * n / seen:.0f} %" for k, n in o.waits.most_common(6))
        )
    return lines + [f"  {line}" for line in o.profile]


def side_by_side(outcomes: list[Outcome], model: tuple[float, float]) -> list[str]:
    runs = [(f"{o.apis} API", o.tally, o.seconds) for o in outcomes]
    overheads = [_turns_ms(o, model[0])[3] for o in outcomes]
    return clients.compare(runs, overheads)


def figures(o: Outcome, model: tuple[float, float]) -> list[Figure]:
    t, n = o.tally, o.apis
    done = sum(len(v) for v in t.seconds.values())
    where = f"{n} API process{'es' if n > 1 else ''}"
    _, p99, _, over99 = _turns_ms(o, model[0])
    rows = [
        ("ops", f"{where}: requests done", "requests/s", done / o.seconds),
        ("rest_turn.p99", f"{where}: REST turn p99", "ms", p99),
        ("overhead.p99", f"{where}: REST turn overhead p99 (goal < 20)", "ms", over99),
        ("errors", f"{where}: errors (goal 0)", "errors", float(sum(t.errors.values()))),
        ("commits", f"{where}: PostgreSQL commits", "commits/s", o.postgres["commits"]),
    ]
    return [
        Figure(f"pg.load.{n}.{key}", GROUP, label, unit, done, [value])
        for key, label, unit, value in rows
    ]


def sizes_for(ctx: Context) -> Sizes:
    return QUICK if ctx.config.repeats == 1 and ctx.config.events < 16_000 else FULL


def run_all(
    admin_url: str, sizes: Sizes, apis: list[int], say: Callable[[str], None], profiled: bool = True
) -> tuple[list[Outcome], tuple[float, float]]:
    """The load against each number of API processes in turn; said as it goes, then compared."""
    redis_url = os.environ.get("COMPANION_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    model = clients.model_ms()
    outcomes = []
    for n in apis:
        outcomes.append(run_load(admin_url, redis_url, n, sizes, profiled=profiled))
        for line in describe(outcomes[-1], model):
            say(line)
    for line in side_by_side(outcomes, model):
        say(line)
    return outcomes, model


def postgres_load(ctx: Context) -> None:
    ctx.status(f"{GROUP}: 1 API process, then 2")
    outcomes, model = run_all(ctx.config.admin_url, sizes_for(ctx), [1, 2], ctx.note)
    for outcome in outcomes:
        ctx.figures.extend(figures(outcome, model))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer users, a shorter run")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--apis", default="1,2", help="API processes a run, e.g. 1,2 or 2")
    parser.add_argument("--idle-sockets", type=int, default=None)
    parser.add_argument("--no-profile", action="store_true", help="no py-spy")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    from companion.app.logging import configure_logging

    configure_logging("WARNING", "console")
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        args.users or base.users,
        args.seconds or base.seconds,
        base.think,
        args.idle_sockets or base.idle_sockets,
        min(base.profile_seconds, int((args.seconds or base.seconds) / 2)),
    )
    wait_for_postgres(args.database_url)
    apis = [int(x) for x in args.apis.split(",")]
    run_all(
        args.database_url, sizes, apis, lambda line: print(line, flush=True), not args.no_profile
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
