"""A chat model that holds two turns in flight at once, for tests of concurrent turns."""

from __future__ import annotations

import threading
import time

from companion.app.conversation_queue import ConversationQueue
from companion.domain.chat import ChatModel, ChatReply, ChatRequest

WAIT = 10.0
"""How long a caller waits for the other before it gives up (never reached when it works)."""


class Meeting:
    """Wraps a model: its first caller waits until a second turn comes, then both go on.

    The second turn has come when it calls the model too (another process's
    turn: both have stored their message and read the emotion state, and the
    store decides between them as between two devices), or when it waits in
    this process's line of turns (`queue`) for the first to end.
    """

    def __init__(self, model: ChatModel, queue: ConversationQueue | None = None) -> None:
        self.model, self.name = model, model.name
        self.queue = queue
        self.first, self.second = threading.Event(), threading.Event()

    def reply(self, request: ChatRequest) -> ChatReply:
        if not self.first.is_set():
            self.first.set()
            deadline = time.monotonic() + WAIT
            while not self.second.wait(0.005) and not self._queued():
                assert time.monotonic() < deadline, "no second turn came"
        else:
            self.second.set()
        return self.model.reply(request)

    def _queued(self) -> bool:
        return self.queue is not None and self.queue.waiting_turns() > 0
