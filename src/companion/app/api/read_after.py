"""Reading after a write made elsewhere: the `X-Consistency-Position` header.

A write over REST waits for its own read models before it answers. A write
that another channel made — a chat turn over the WebSocket, whose final
`chat_response` carries the turn's `position` and is sent as soon as the reply
is stored — gives the client a position instead. A GET that sends it back in
`X-Consistency-Position` is held until every read model has applied that
position (at most COMPANION_READ_YOUR_WRITES_TIMEOUT) and says which in
`X-Consistency`, as a write does: `applied`, or `pending` when the read
models did not catch up in time (the read then answers what they show). With
a replica the wait lasts until the replica's copy shows the position.

A position that is not a whole number of 0 or more is 422; one ahead of the
log (no write ever answered it) is 409 `position_ahead`, at once: waiting for
it could only time out.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_409_CONFLICT

from companion.app.api.consistency import ReadYourWrites
from companion.domain.errors import InvalidInput

POSITION_HEADER = "X-Consistency-Position"
READ_METHODS = frozenset({"GET", "HEAD"})
MAX_POSITION = 2**63 - 1
POSITION_AHEAD = "position_ahead"


def requested_position(request: Request[Any, Any, Any]) -> int | None:
    """The position the read must reflect, or None when the request names none."""
    if request.method not in READ_METHODS:
        return None
    raw = request.headers.get(POSITION_HEADER)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_POSITION:
        raise InvalidInput(POSITION_HEADER, "must be a whole number of 0 or more")
    return int(text)


async def read_after(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: hold a read until the read models show the position."""
    position = requested_position(request)
    if position is None:
        return
    read_your_writes: ReadYourWrites = request.app.state.read_your_writes
    runner = read_your_writes.runner
    head = await anyio.to_thread.run_sync(runner.head)
    if position > head:
        raise ClientException(
            detail=f"{POSITION_HEADER} {position} is ahead of the log (its head is {head})",
            status_code=HTTP_409_CONFLICT,
            extra={"code": POSITION_AHEAD},
        )
    await anyio.to_thread.run_sync(read_your_writes, request, position, sorted(runner.projections))
