"""`companion serve`: the API process."""

from __future__ import annotations

import uvicorn

from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from companion.app.logging import configure_logging
from companion.app.settings import Settings, SettingsError


def serve(settings: Settings, *, host: str, port: int) -> None:
    configure_logging(settings.log_level, settings.log_format)
    try:
        companion = bootstrap(settings)
    except SettingsError as error:
        # A store this process must not touch (wrong key, say): one line, exit status 1.
        raise SystemExit(f"error: {error}") from None
    app = create_app(companion)
    uvicorn.run(
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
