"""Throttles that guard routes before their handlers run: checkouts, per user and address."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from companion.app.accounts import admit


async def checkout_throttled(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A guard: past the checkouts a user or a client address may start, 429 `rate_limited`.

    Every attempt counts (gem-pack checkouts and subscription starts together), so
    a client cannot have the payment provider open intent after intent.
    """
    throttle = connection.app.state.companion.checkout_throttle
    address = connection.client.host if connection.client else None
    await anyio.to_thread.run_sync(
        partial(
            admit,
            throttle,
            str(connection.user),
            address,
            "too many checkouts, try again later",
        )
    )
