"""The event-sourced repository: the eventsourcing application the unit of work runs on."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Recording

from companion.app.aggregate_cache import AggregateCache
from companion.domain.conversations import Conversation
from companion.domain.emotion import EmotionState
from companion.domain.memory import MemoryBook


class CompanionApplication(Application[UUID]):
    """Users, characters and conversations, stored as events.

    Only the store and its wiring live here: use cases go through the unit of
    work (`companion.app.unit_of_work`), and the CLI and the projection runner
    read its recorder and mapper.
    """

    name = "companion"
    # Streams that grow with every turn load from a snapshot and its few later
    # events, not from their whole history.
    snapshotting_intervals = {  # noqa: RUF012 - the library's class variable
        Conversation: 200,
        EmotionState: 200,
        MemoryBook: 200,
    }

    def construct_repository(self) -> AggregateCache:
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        self.aggregates = AggregateCache(
            self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
            recorder=self.recorder,
        )
        """The repository, with its cache (see companion.app.aggregate_cache)."""
        return self.aggregates

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        recordings = self.events.put(
            processing_event.events,
            tracking=processing_event.tracking,
            **processing_event.saved_kwargs,
        )
        self.aggregates.saved(processing_event.aggregates.values())
        return recordings
