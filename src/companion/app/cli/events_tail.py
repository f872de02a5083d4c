"""`companion events tail`: the event log followed live, one JSON line per event.

Each line is what `events export` writes for the event (position, topic,
stream, version, timestamp, user_id, character_id, state), until Ctrl-C. On
PostgreSQL the command LISTENs on the store's notification channel, as the
projection worker does, and reads as soon as an append commits; on SQLite,
where no other process can be heard, it polls.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from companion.app.cli.common import DatabaseUrl, err, fail, opened, quiet_broken_pipe
from companion.app.cli.events import ByUser, Types, chosen_types, known_user

if TYPE_CHECKING:
    from eventsourcing.application import Application

POLL_SECONDS = 0.2
"""How often SQLite is read for new events."""
SAFETY_NET_SECONDS = 5.0
"""How often PostgreSQL is read even without a notification; a lost connection is covered
anyway: the listener wakes the reader when it listens again."""


def tail_events(
    ctx: typer.Context,
    types: Types = None,
    user: ByUser = None,
    from_now: Annotated[
        bool, typer.Option("--from-now", help="only events appended from now on (the default)")
    ] = False,
    since: Annotated[
        int | None,
        typer.Option("--since", min=1, help="from this position of the log on (inclusive)"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Follow the log live: one JSON line per event (as `events export` writes), until Ctrl-C."""
    from companion.app.event_catalogue import ATTRIBUTION_BY_TOPIC
    from companion.app.event_log import EventFilter, Export, log_head, read_attributions

    if from_now and since is not None:
        fail("--from-now and --since exclude each other")
    selected = tuple(t.topic for t in chosen_types(types))
    with opened(ctx, database_url, create_store=False) as companion:
        application = companion.application
        head = log_head(application)
        attributions = read_attributions(application, head=head)
        wanted = EventFilter(topics=selected, user_id=known_user(attributions, user))
        # Creation events are read whatever the types: they say whose later events are.
        read_topics = (*selected, *ATTRIBUTION_BY_TOPIC) if selected else ()
        export = Export(attributions)
        wake, stopping = threading.Event(), threading.Event()
        interval, how = _listen(application, wake, stopping)
        position = head if since is None else since - 1
        err.print(
            f"following the log after position {position}, {how} (Ctrl-C to stop)",
            highlight=False,
        )
        try:
            with quiet_broken_pipe():
                while True:
                    wake.clear()
                    for notification, event in _after(application, position, read_topics):
                        position = notification.id
                        topic, stream = notification.topic, notification.originator_id
                        if topic in ATTRIBUTION_BY_TOPIC:
                            attributions.learn(topic, stream, event)
                        if selected and notification.topic not in selected:
                            continue
                        if wanted.wants_owner(attributions.of(notification.originator_id)):
                            sys.stdout.write(_line(export, notification, event))
                            sys.stdout.flush()
                    wake.wait(interval)
        except KeyboardInterrupt:
            err.print("stopped", highlight=False)
        finally:
            stopping.set()


def _line(export: Any, notification: Any, event: Any) -> str:
    from companion.app.event_log import to_json

    return to_json(export.record(notification, event)) + "\n"


def _after(application: Application[Any], position: int, topics: tuple[str, ...]) -> Any:
    """Every event after `position` (of `topics`, any when empty), decoded, in log order."""
    from eventsourcing.persistence import MapperDeserialisationError

    from companion.app.errors import StoreUnreadable
    from companion.app.event_log import PAGE_SIZE

    recorder, mapper = application.recorder, application.mapper
    while True:
        page = recorder.select_notifications(position + 1, limit=PAGE_SIZE, topics=topics)
        for notification in page:
            try:
                event = mapper.to_domain_event(notification)
            except MapperDeserialisationError as error:
                raise StoreUnreadable(
                    f"cannot decode the event at position {notification.id}: {error}",
                    position=notification.id,
                ) from error
            yield notification, event
            position = notification.id
        if len(page) < PAGE_SIZE:
            return


def _listen(
    application: Application[Any], wake: threading.Event, stop: threading.Event
) -> tuple[float, str]:
    """Wake on every append when the store can say so (PostgreSQL): the longest wait between
    reads, and how new events are heard of."""
    from eventsourcing.postgres import PostgresDatastore

    from projections.following import wake_on_appends

    channel = getattr(application.recorder, "channel_name", None)
    datastore = getattr(application.recorder, "datastore", None)
    if channel is None or not isinstance(datastore, PostgresDatastore):
        return POLL_SECONDS, f"polling every {POLL_SECONDS} s"
    threading.Thread(
        target=wake_on_appends,
        args=(channel, datastore, wake, stop),
        name="events-tail-listen",
        daemon=True,
    ).start()
    return SAFETY_NET_SECONDS, f"listening on {channel!r}"
