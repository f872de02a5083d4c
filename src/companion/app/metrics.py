"""The process's live metrics (Prometheus), and what a scrape of them answers.

The instruments are counted where the work happens: requests and sockets at the
API's edge (`companion.app.api.metrics`), chat turns and throttle refusals by
the composition root's wrappers (`companion.app.counted`), the model's replies
where it is asked (`companion.app.model_call`). The read models' lag is not
counted at all: a scrape reads it from the store (`scrape`), so whichever
process answers tells the same truth, whether projections run in it or in a
worker.

Several API processes on one host share their counts through prometheus-client's
multiprocess mode: with `PROMETHEUS_MULTIPROC_DIR` set (before the process
starts), every process writes its values to files of its own there and a scrape
of any of them sums them all. `process_started` cleans the directory when a
deployment starts afresh, and `process_stopped` (or the next scrape, for a
process that was killed) takes a gone process's open sockets out of the sum.
Every instrument has labels, so a process writes no file before it counts
something: a projection worker, which counts nothing, leaves the directory alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "CONTENT_TYPE",
    "chat_turn",
    "model_replied",
    "multiprocess_dir",
    "process_started",
    "process_stopped",
    "request_served",
    "scrape",
    "socket_closed",
    "socket_opened",
    "throttle_refused",
]

CONTENT_TYPE = "text/plain; version=0.0.4"
"""The media type of a scrape's answer: Prometheus's text format (UTF-8)."""

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The library leaves these two untyped; their types here are what it documents.
_collector_of: Callable[[None, str], Collector] = multiprocess.MultiProcessCollector
_mark_process_dead: Callable[[int, str], None] = multiprocess.mark_process_dead


def multiprocess_dir() -> Path | None:
    """The directory processes share their values through, if this one shares them."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


REQUEST_SECONDS = Histogram(
    "companion_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status class.",
    ["method", "route", "status"],
)
OPEN_SOCKETS = Gauge(
    "companion_websockets_open",
    "WebSockets accepted and not yet closed, by route template (summed over live processes).",
    ["route"],
    multiprocess_mode="livesum",
)
CHAT_TURNS = Counter(
    "companion_chat_turns",
    "Chat turns by transport (rest, ws) and outcome"
    " (replied, fallback, repeated, refused, rejected, failed, abandoned).",
    ["transport", "outcome"],
)
MODEL_SECONDS = Histogram(
    "companion_model_reply_seconds",
    "Time the chat model took to make a reply (outcome replied) or to give way to the"
    " in-character fallback (outcome fallback).",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, float("inf")),
)
MODEL_FALLBACKS = Counter(
    "companion_model_fallbacks",
    "Replies that are the in-character fallback, by reason (timeout, unreachable, error, gave_up).",
    ["reason"],
)
THROTTLE_REFUSALS = Counter(
    "companion_throttle_refusals",
    "Attempts a throttle refused (login, password, registration, checkout).",
    ["throttle"],
)
LAG_NAME = "companion_projection_lag_events"
LAG_HELP = "Events in the log a read model has yet to apply (head minus its position)."


def request_served(method: str, route: str, status: int, seconds: float) -> None:
    """An HTTP request answered: `route` is the route's path template, never the raw path."""
    REQUEST_SECONDS.labels(method, route, f"{status // 100}xx").observe(seconds)


def socket_opened(route: str) -> None:
    OPEN_SOCKETS.labels(route).inc()


def socket_closed(route: str) -> None:
    OPEN_SOCKETS.labels(route).dec()


def chat_turn(transport: str, outcome: str) -> None:
    CHAT_TURNS.labels(transport, outcome).inc()


def model_replied(seconds: float, fallback_reason: str | None) -> None:
    """The model made a reply, or (with a reason) the fallback stood in for it."""
    MODEL_SECONDS.labels("replied" if fallback_reason is None else "fallback").observe(seconds)
    if fallback_reason is not None:
        MODEL_FALLBACKS.labels(fallback_reason).inc()


def fallback_reason(error: BaseException | None) -> str:
    """Why the fallback answered: the model's error, or none (the model itself gave up)."""
    if error is None:
        return "gave_up"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionError):
        return "unreachable"
    return "error"


def throttle_refused(throttle: str) -> None:
    THROTTLE_REFUSALS.labels(throttle).inc()


# -- scraping --------------------------------------------------------------------------


class _Scrape(Collector):
    """What one scrape answers: every process's instruments and the read models' lag."""

    def __init__(self, lag: Mapping[str, int] | None) -> None:
        self.lag = lag

    def collect(self) -> Iterable[Metric]:
        shared = multiprocess_dir()
        if shared is None:
            yield from REGISTRY.collect()
        else:
            _forget_dead(shared)
            yield from _collector_of(None, str(shared)).collect()
        if self.lag is not None:
            family = GaugeMetricFamily(LAG_NAME, LAG_HELP, labels=["projection"])
            for name, lag in sorted(self.lag.items()):
                family.add_metric([name], lag)
            yield family


def scrape(lag: Mapping[str, int] | None) -> bytes:
    """The text a scrape answers; `lag` by read model (None: the store could not tell)."""
    try:
        return generate_latest(_Scrape(lag))
    except FileNotFoundError:
        # Another process removed a dead one's file while this one read the directory.
        return generate_latest(_Scrape(lag))


# -- the shared directory --------------------------------------------------------------

_FILE = re.compile(r"^(?P<kind>.+)_(?P<pid>\d+)\.db$")


def _files_by_pid(directory: Path) -> dict[int, list[Path]]:
    found: dict[int, list[Path]] = {}
    for path in directory.glob("*.db"):
        match = _FILE.match(path.name)
        if match is not None:
            found.setdefault(int(match["pid"]), []).append(path)
    return found


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _forget_dead(directory: Path) -> None:
    """A process that died without saying so: its open sockets leave the sum."""
    for pid in _files_by_pid(directory):
        if not _alive(pid):
            _mark_process_dead(pid, str(directory))


def process_started() -> None:
    """An API process starts: ready the shared directory, if there is one.

    When no other process of the directory is alive, the deployment starts
    afresh: the files of the processes before it go, and counts start from zero.
    Otherwise only the dead processes' open sockets leave the sum; their counts
    stay, so that sums never go down while the deployment runs. Only dead
    processes' files are ever removed, so processes starting together cannot
    remove each other's.
    """
    directory = multiprocess_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    files = _files_by_pid(directory)
    dead = [pid for pid in files if not _alive(pid)]
    others_alive = any(pid != os.getpid() for pid in files if pid not in dead)
    for pid in dead:
        if not others_alive:
            for path in files[pid]:
                path.unlink(missing_ok=True)
        else:
            _mark_process_dead(pid, str(directory))


def process_stopped() -> None:
    """An API process stops: its open sockets leave the sum; its counts stay."""
    directory = multiprocess_dir()
    if directory is not None:
        _mark_process_dead(os.getpid(), str(directory))
