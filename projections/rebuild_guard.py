"""One rebuild of a read model at a time, across every process of a store.

A rebuild fills the read model's fresh tables from the start of the log and
switches them in. A second rebuild of the same read model started meanwhile
would drop those fresh tables under the first, or apply the same events into
them twice and switch in a read model whose counts are doubled. So a rebuild
holds a lock named after the read model's tracking key for its whole length,
and a second one is refused at once rather than queued behind it:

- PostgreSQL: a session advisory lock, on a connection of the store's pool
  held (in autocommit, so never idle in a transaction) until the rebuild ends;
  the server drops it if the process dies;
- SQLite: an exclusive ``flock`` on a file beside the read models' database,
  which the kernel drops if the process dies;
- an in-memory store: its read models live in one process; a lock of that process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from projections.postgres_views import PostgresViewStore
from projections.sqlite_views import SQLiteViewStore
from projections.store import ViewStore

_local_locks: dict[tuple[int, str], threading.Lock] = {}
_local_guard = threading.Lock()


class RebuildInProgress(RuntimeError):
    """Another rebuild of the same read model holds its lock."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"{key} is being rebuilt by another process: wait for that rebuild to finish"
        )
        self.key = key


@contextlib.contextmanager
def exclusive_rebuild(store: ViewStore, key: str) -> Iterator[None]:
    """Hold the rebuild lock of `key` (a projection's tracking key) for the block.

    Raises RebuildInProgress at once if another rebuild holds it.
    """
    if isinstance(store, PostgresViewStore):
        with _advisory(store, key):
            yield
    elif isinstance(store, SQLiteViewStore) and not store.datastore.pool.is_sqlite_memory_mode:
        with _flocked(Path(store.datastore.pool.db_name), key):
            yield
    else:
        with _in_process(store, key):
            yield


@contextlib.contextmanager
def _advisory(store: PostgresViewStore, key: str) -> Iterator[None]:
    pool = store.datastore.pool
    pool.open(wait=False)
    conn = pool.getconn()
    try:
        conn.autocommit = True
        name = f"companion.rebuild.{store.datastore.schema}.{key}"
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s)) AS locked", (name,)
        ).fetchone()
        if not row or not row["locked"]:
            raise RebuildInProgress(key)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
    finally:
        with contextlib.suppress(Exception):
            conn.autocommit = False
        pool.putconn(conn)


@contextlib.contextmanager
def _flocked(database: Path, key: str) -> Iterator[None]:
    path = database.with_name(f"{database.name}.rebuild-{key}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RebuildInProgress(key) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _in_process(store: ViewStore, key: str) -> Iterator[None]:
    with _local_guard:
        lock = _local_locks.setdefault((id(store), key), threading.Lock())
    if not lock.acquire(blocking=False):
        raise RebuildInProgress(key)
    try:
        yield
    finally:
        lock.release()
