"""`companion events …`: the event log's types, counts and exports."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import typer
from rich.table import Table

from companion.app.cli.common import (
    FAILURE,
    DatabaseUrl,
    bar_updater,
    err,
    fail,
    opened,
    out,
    progress_bar,
    quiet_broken_pipe,
)

if TYPE_CHECKING:
    from companion.app.event_catalogue import Attributions, EventType
    from companion.app.event_log import EventFilter

events_app = typer.Typer(help="The event log: types, count and export.", no_args_is_help=True)


def parse_instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 date or time: {text!r}") from None
    # A time without a zone is taken as UTC, the zone events are stamped in.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


Since = Annotated[
    datetime | None,
    typer.Option(parser=parse_instant, help="from this ISO time on (inclusive; UTC if no zone)"),
]
Until = Annotated[
    datetime | None,
    typer.Option(parser=parse_instant, help="before this ISO time (exclusive; UTC if no zone)"),
]
# The values of ExportFormat, spelled here so that declaring the command imports no store.
Format = Literal["jsonl", "csv"]
# What `events export --format` takes: those, and a Parquet dataset written to the folder --out.
ExportTarget = Literal["jsonl", "csv", "parquet"]
ByUser = Annotated[str | None, typer.Option("--user", help="only this user's events (email or id)")]
ByCharacter = Annotated[
    UUID | None, typer.Option("--character", help="only this character's events (id)")
]
Types = Annotated[
    list[str] | None,
    typer.Option(
        "--type",
        help="event class name (UserMessageSent, Conversation.UserMessageSent) or full topic;"
        " repeat for several (`companion events types` lists them)",
    ),
]


def chosen_types(types: list[str] | None) -> tuple[EventType, ...]:
    """The catalogue's types named by --type; a name it does not know is a usage error."""
    from companion.app.event_catalogue import UnknownEventType, event_types

    try:
        return event_types(types or ())
    except UnknownEventType as error:
        fail(str(error))


@events_app.command("types")
def list_event_types(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """Every event type of the domain, with how many of it the log holds."""
    from companion.app.event_catalogue import catalogue
    from companion.app.event_log import EventFilter, log_head, read_events

    with opened(ctx, database_url, create_store=False) as companion:
        counts: dict[str, int] = dict.fromkeys((t.topic for t in catalogue()), 0)
        application = companion.application
        everything = read_events(
            application, EventFilter(), head=log_head(application), decode=False
        )
        for notification, _ in everything:
            counts[notification.topic] = counts.get(notification.topic, 0) + 1
    known = {t.topic: t.qualname for t in catalogue()}
    table = Table("type", "count", "topic")
    for topic, count in counts.items():
        # A topic outside the catalogue (an event class since renamed) still shows.
        table.add_row(known.get(topic, "(not in the catalogue)"), str(count), topic)
    out.print(table)


@events_app.command("count")
def count_events(
    ctx: typer.Context,
    since: Since = None,
    until: Until = None,
    types: Types = None,
    user: ByUser = None,
    character: ByCharacter = None,
    database_url: DatabaseUrl = None,
) -> None:
    """How many events the log holds (those that pass the filters)."""
    from companion.app.event_catalogue import Attributions
    from companion.app.event_log import log_head, read_attributions, read_events

    selected = chosen_types(types)
    with opened(ctx, database_url, create_store=False) as companion:
        application = companion.application
        head = log_head(application)
        # Whose the streams are matters only to an owner filter.
        by_owner = user is not None or character is not None
        attributions = read_attributions(application, head=head) if by_owner else Attributions()
        wanted = event_filter(attributions, since, until, selected, user, character)
        events = read_events(
            application, wanted, head=head, decode=False, attributions=attributions
        )
        total = sum(1 for _ in events)
    out.print(str(total), highlight=False)


@events_app.command("export")
def export_events(
    ctx: typer.Context,
    format_: Annotated[ExportTarget, typer.Option("--format")] = "jsonl",
    since: Since = None,
    until: Until = None,
    types: Types = None,
    user: ByUser = None,
    character: ByCharacter = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact",
            help="no texts, emails, names or other personal values; ids replaced by"
            " pseudonyms that hold for this export only",
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="default: stdout", dir_okay=False)
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="the folder of a Parquet export (--format parquet); an earlier export"
            " there is replaced",
            file_okay=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export events, decrypted and attributed to their user and character.

    One JSON object per line (jsonl), one CSV row per event with a column per
    state field, or a Parquet dataset partitioned by day and type (parquet, into
    the folder --out). Every event carries the user_id and character_id of its
    stream, whatever the filters.
    """
    if (format_ == "parquet") != (out is not None):
        fail("--format parquet writes to the folder given by --out, and only it does")
    if out is not None and output is not None:
        fail("--output is for jsonl and csv; a Parquet export goes to the folder --out")
    from companion.app.event_log import (
        Export,
        ExportFormat,
        log_head,
        read_attributions,
        read_events,
    )
    from companion.app.redaction import Redaction

    selected = chosen_types(types)
    with opened(ctx, database_url, create_store=False) as companion:
        application = companion.application
        # Attribution and export read the same events: one appended in between
        # would be exported without its owner.
        head = log_head(application)
        attributions = read_attributions(application, head=head)
        wanted = event_filter(attributions, since, until, selected, user, character)
        if out is not None:
            from companion.app.cli.parquet_export import write_parquet

            write_parquet(
                companion, out, wanted, head=head, attributions=attributions, redact=redact
            )
            return
        export = Export(attributions, Redaction() if redact else None)
        if output is None:
            events = read_events(
                application, wanted, head=head, decode=True, attributions=attributions
            )
            with quiet_broken_pipe():
                export.write(sys.stdout, ExportFormat(format_), events, selected)
            return
        with output.open("w", encoding="utf-8", newline="") as file, progress_bar() as progress:
            task = progress.add_task(f"exporting to {output}", total=None)
            events = read_events(
                application,
                wanted,
                head=head,
                decode=True,
                attributions=attributions,
                on_progress=bar_updater(progress, task),
            )
            written = export.write(file, ExportFormat(format_), events, selected)
        err.print(f"exported {written} events to {output}", highlight=False)


def event_filter(
    attributions: Attributions,
    since: datetime | None,
    until: datetime | None,
    types: tuple[EventType, ...],
    user: str | None,
    character: UUID | None,
) -> EventFilter:
    """The filter of the command line's options; a user or character the log lacks fails."""
    from companion.app.event_log import EventFilter

    return EventFilter(
        since,
        until,
        tuple(t.topic for t in types),
        user_id=known_user(attributions, user),
        character_id=known_character(attributions, character),
    )


def known_user(attributions: Attributions, user: str | None) -> UUID | None:
    if user is None:
        return None
    from companion.app.event_catalogue import UnknownUser

    try:
        return attributions.user(user)
    except UnknownUser as error:
        fail(str(error), code=FAILURE)


def known_character(attributions: Attributions, character: UUID | None) -> UUID | None:
    if character is not None and attributions.of(character).character_id != character:
        fail(f"no character with id {character} in the event log", code=FAILURE)
    return character
