"""The event log as stored, read back whole and decoded: what was really recorded."""

from __future__ import annotations

from typing import Any

from companion.app.bootstrap import Companion


def recorded(companion: Companion, topic_suffix: str = "") -> list[Any]:
    """Every stored event (whose topic ends with `topic_suffix`), decoded, in log order."""
    recorder = companion.application.recorder
    mapper = companion.application.mapper
    events: list[Any] = []
    start = 1
    while True:
        page = recorder.select_notifications(start, limit=500)
        if not page:
            return events
        events.extend(mapper.to_domain_event(n) for n in page if n.topic.endswith(topic_suffix))
        start = page[-1].id + 1
