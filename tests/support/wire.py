"""What our connections say to PostgreSQL: statements and round trips, read off the wire.

libpq can trace every protocol message a connection sends and receives. A
`Wire` turns that trace on for each connection a pool hands out, one file per
connection, and counts from the files:

- statements: each `Execute` (extended protocol) or `Query` (simple protocol)
  message the client sent, pre-pings (an empty query) included;
- round trips: each time the client sent something after having heard from
  the server — a run of messages sent together, pipelined or not, is one.

Counting the wire, not our calls, sees what the driver really does: a
pipeline's statements that go out together count as one round trip, and a
pool's pre-ping counts as the round trip it is.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import pq

_QUOTED = re.compile(r'"([^"]*)"')
# libpq writes a statement's text between quotes as it is (inner quotes unescaped):
# a Parse is `"name" "text" <number of parameter types> <types…>`.
_PARSE = re.compile(r'^\s*"([^"]*)" "(.*)" \d+(?: \S+)*\s*$')
_QUERY = re.compile(r'^\s*"(.*)"\s*$')


@dataclass
class Traffic:
    """Counts over some span of time; subtract two to get what happened between them."""

    statements: int = 0
    round_trips: int = 0
    by_statement: Counter[str] = field(default_factory=Counter)

    def __sub__(self, other: Traffic) -> Traffic:
        by = Counter(self.by_statement)
        by.subtract(other.by_statement)
        return Traffic(
            self.statements - other.statements,
            self.round_trips - other.round_trips,
            Counter({k: v for k, v in by.items() if v}),
        )

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(
            self.statements + other.statements,
            self.round_trips + other.round_trips,
            self.by_statement + other.by_statement,
        )


def _short(sql: str) -> str:
    """A statement's text on one line (an empty query is a pool's pre-ping)."""
    return " ".join(sql.split()) or "(empty query: pre-ping)"


def _count(lines: list[str]) -> Traffic:
    traffic = Traffic()
    prepared: dict[str, str] = {}
    bound = ""
    last_direction = "B"
    for line in lines:
        parts = line.split("\t", 3)
        if len(parts) < 3:
            continue
        direction, kind = parts[0], parts[2]
        rest = parts[3] if len(parts) > 3 else ""
        if direction == "P":
            # A statement prepared before tracing began (see Wire._trace): not sent now.
            parsed = _PARSE.match(rest)
            if parsed:
                prepared[parsed.group(1)] = parsed.group(2)
            continue
        if direction == "F":
            if last_direction == "B":
                traffic.round_trips += 1
            if kind == "Parse":
                parsed = _PARSE.match(rest)
                if parsed:
                    prepared[parsed.group(1)] = parsed.group(2)
            elif kind == "Bind":
                quoted = _QUOTED.findall(rest)
                if len(quoted) >= 2:
                    bound = prepared.get(quoted[1], "")
            elif kind == "Execute":
                traffic.statements += 1
                traffic.by_statement[_short(bound)] += 1
            elif kind == "Query":
                query = _QUERY.match(rest)
                traffic.statements += 1
                traffic.by_statement[_short(query.group(1) if query else "")] += 1
        last_direction = direction
    return traffic


class Wire:
    """Traces the connections of some pools, and counts what they sent.

    `watch(pool, label)` traces every connection that pool hands out from then
    on (a connection is traced from its first use after `watch`).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._own_folder = None if folder is not None else tempfile.TemporaryDirectory()
        self.folder = folder or Path(self._own_folder.name)  # type: ignore[union-attr]
        self._lock = threading.Lock()
        self._traced: dict[int, tuple[str, Path, Any, Any]] = {}

    def watch(self, pool: Any, label: str) -> None:
        getconn = pool.getconn

        def traced_getconn(*args: Any, **kwargs: Any) -> Any:
            conn = getconn(*args, **kwargs)
            self._trace(conn, label)
            return conn

        pool.getconn = traced_getconn

    def _trace(self, conn: Any, label: str) -> None:
        key = id(conn.pgconn)
        with self._lock:
            if key in self._traced:
                return
            path = self.folder / f"{label}-{len(self._traced)}.trace"
            file = path.open("w")
            # Statements the connection prepared before it was traced: Bind names them only.
            names = getattr(getattr(conn, "_prepared", None), "_names", {})
            for prepared_key, name in list(names.items()):
                query = prepared_key[0] if isinstance(prepared_key, tuple) else prepared_key
                if isinstance(query, bytes) and isinstance(name, bytes):
                    text = query.decode(errors="replace")
                    file.write(f'P\t0\tParse\t "{name.decode()}" "{text}" 0\n')
            file.flush()
            conn.pgconn.trace(file.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            self._traced[key] = (label, path, file, conn.pgconn)

    def traffic(self, label: str | None = None) -> Traffic:
        """Everything sent so far (by the pools of `label`, or by all)."""
        total = Traffic()
        with self._lock:
            traced = list(self._traced.values())
        for name, path, _, _ in traced:
            if label is not None and name != label:
                continue
            text = path.read_text(errors="replace")
            # The line being written is left for the next count.
            complete = text[: text.rfind("\n") + 1]
            total = total + _count(complete.splitlines())
        return total

    def close(self) -> None:
        """Stop tracing (call it once the connections are idle) and drop the files."""
        with self._lock:
            for _, _, file, pgconn in self._traced.values():
                # libpq must stop writing before the file goes: its number may be reused.
                with contextlib.suppress(Exception):  # a closed connection writes no more
                    pgconn.untrace()
                file.close()
            self._traced.clear()
        if self._own_folder is not None:
            self._own_folder.cleanup()
