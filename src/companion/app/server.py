"""`companion serve`: the API process."""

from __future__ import annotations

import uvicorn

from companion.app.api.app import create_app
from companion.app.bootstrap import bootstrap
from companion.app.logging import configure_logging
from companion.app.settings import Settings


def serve(settings: Settings, *, host: str, port: int) -> None:
    configure_logging(settings.log_level, settings.log_format)
    companion = bootstrap(settings)
    app = create_app(companion)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=True)
