"""How a runner hears what other processes do, on PostgreSQL: their appends, which wake its
loop, and the positions their runners commit, which wake the requests waiting for them.

Both are LISTENs on a connection of their own, in a thread of their own, that
reconnect after a lost connection. On SQLite nothing can be heard across
processes: the loop polls and a waiting request reads the tracking table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection

import psycopg
import structlog
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from projections.positions import CommittedPositions
from projections.postgres_views import PostgresViewStore

log = structlog.get_logger(__name__)


def wake_on_appends(
    channel: str,
    datastore: PostgresDatastore,
    wake: threading.Event,
    stopping: threading.Event,
) -> None:
    """Set `wake` when any process appends (the recorder NOTIFYs on every insert), until
    `stopping` is set.

    Without it a runner in its own process would see other processes' events
    only at its next poll.
    """
    statement = sql.SQL("LISTEN {}").format(sql.Identifier(channel))
    pool = datastore.pool
    while not stopping.is_set():
        kwargs = pool.kwargs() if callable(pool.kwargs) else dict(pool.kwargs or {})
        conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
        try:
            with psycopg.connect(conninfo, **kwargs, autocommit=True) as conn:
                conn.execute(statement)
                wake.set()  # anything appended while not listening
                while not stopping.is_set():
                    for _ in conn.notifies(timeout=1.0, stop_after=1):
                        wake.set()
        except psycopg.Error:
            log.warning("projections.listen_failed", retry_in=1.0)
            stopping.wait(1.0)


class AnnouncedPositions:
    """Takes into `positions` every position another process announces for one of `names`.

    Listening begins at the first `listen()` and lasts until `stop()`; once it
    has begun, what was committed before is read once (`read`).
    """

    def __init__(
        self,
        store: PostgresViewStore,
        positions: CommittedPositions,
        names: Collection[str],
        read: Callable[[str], int],
    ) -> None:
        self.store = store
        self.positions = positions
        self.names = names
        self.read = read
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._unlisten = threading.Event()

    def listen(self) -> None:
        """Listen from now on, if not listening already."""
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._unlisten.clear()
                self._listener = threading.Thread(
                    target=self._follow, name="projection-positions", daemon=True
                )
                self._listener.start()

    def stop(self) -> None:
        """Stop listening (the listener notices within a second)."""
        self._unlisten.set()

    def _follow(self) -> None:
        while not self._unlisten.is_set():
            try:
                for name, position in self.store.listen(self._unlisten.is_set, timeout=1.0):
                    if not name:
                        # Listening from now on: what was committed before, read once.
                        for known in self.names:
                            self.positions.commit(known, self.read(known))
                    elif name in self.names:
                        self.positions.commit(name, position)
            except psycopg.Error:
                log.warning("projections.positions_listen_failed", retry_in=1.0)
                self._unlisten.wait(1.0)
