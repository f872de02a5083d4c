"""A chat model that holds two turns in flight at once, for tests of concurrent turns."""

from __future__ import annotations

import threading

from companion.domain.chat import ChatModel, ChatReply, ChatRequest

WAIT = 10.0
"""How long a caller waits for the other before it gives up (never reached when it works)."""


class Meeting:
    """Wraps a model: its first caller waits until a second caller comes, then both go on.

    Both turns have stored their message and read the emotion state when either
    stores its reply: the store decides between them as between two devices.
    """

    def __init__(self, model: ChatModel) -> None:
        self.model, self.name = model, model.name
        self.first, self.second = threading.Event(), threading.Event()

    def reply(self, request: ChatRequest) -> ChatReply:
        if not self.first.is_set():
            self.first.set()
            assert self.second.wait(WAIT), "no second turn came"
        else:
            self.second.set()
        return self.model.reply(request)
