"""`companion serve`: the API process, which drains its WebSockets before it exits."""

from __future__ import annotations

import socket
import sqlite3
import time

import structlog
import uvicorn
from eventsourcing.persistence import PersistenceError

from companion.app.api.app import create_app
from companion.app.api.drain import Drain, drain_of
from companion.app.bootstrap import bootstrap
from companion.app.logging import configure_logging
from companion.app.settings import Settings, SettingsError

log = structlog.get_logger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn, whose shutdown (SIGTERM, SIGINT) lets the open sockets go before it ends.

    It stops listening first, so no new connection comes; then the drain asks every
    open socket to leave and waits for them, at most `drain_seconds`; whatever time is
    left is uvicorn's own graceful shutdown (requests in flight), before it closes
    what remains (a socket still open then: 1012 too).
    """

    def __init__(self, config: uvicorn.Config, drain: Drain, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain, self.drain_seconds = drain, drain_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        started = time.monotonic()
        for server in self.servers:
            server.close()
        log.info("server.draining", sockets=self.drain.open)
        drained = await self.drain.finish(self.drain_seconds)
        log.info("server.drained", all_gone=drained, left=self.drain.open)
        left = self.drain_seconds - (time.monotonic() - started)
        self.config.timeout_graceful_shutdown = max(1, int(left))
        await super().shutdown(sockets)


def serve(settings: Settings, *, host: str, port: int) -> None:
    configure_logging(settings.log_level, settings.log_format)
    try:
        companion = bootstrap(settings)
    except SettingsError as error:
        # A store this process must not touch (wrong key, say): one line, exit status 1.
        raise SystemExit(f"error: {error}") from None
    except (PersistenceError, sqlite3.Error) as error:
        # A store that cannot be opened (a read-only or full disk, a database down): one line.
        detail = " ".join(str(error).split())
        raise SystemExit(f"error: cannot open the event store: {detail}") from None
    app = create_app(companion)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # X-Forwarded-For names the client only when a proxy the operator trusts sent it:
        # believed from anyone else, it would let a client choose the address that its
        # logins, sign-ups and checkouts are throttled by.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    server = DrainingServer(config, drain_of(app), settings.shutdown_drain_seconds)
    server.run()
    if not server.started:
        raise SystemExit(3)
