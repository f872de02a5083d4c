"""`companion`: serve the API, run and rebuild projections, count and export events."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import structlog
import typer
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from companion.app.bootstrap import Companion, bootstrap
from companion.app.errors import StoreUnavailable, StoreUnreadable
from companion.app.event_catalogue import (
    Attributions,
    EventType,
    UnknownEventType,
    UnknownUser,
    catalogue,
    event_types,
)
from companion.app.event_log import (
    EventFilter,
    Export,
    ExportFormat,
    log_head,
    read_attributions,
    read_events,
)
from companion.app.logging import configure_logging
from companion.app.redaction import Redaction
from companion.app.settings import Settings, SettingsError

log = structlog.get_logger(__name__)


class Stdout(Console):
    """What commands print: a reader that stops early (`| head`) ends the command, with success.

    Rich would exit 1 instead, so that `set -o pipefail` scripts would fail.
    """

    def on_broken_pipe(self) -> None:
        silence_stdout()
        raise typer.Exit(0)


out = Stdout()
err = Console(stderr=True)

# Locals in a traceback could hold what users wrote: never show them.
app = typer.Typer(
    help="Serve the companion API, run and rebuild its projections, count and export its events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
projections_app = typer.Typer(help="Read models: list, status, rebuild, run.", no_args_is_help=True)
events_app = typer.Typer(help="The event log: count and export.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(events_app, name="events")

HEARTBEAT_SECONDS = 5.0
USAGE_ERROR = 2
# The store or the settings are wrong, not the command line.
FAILURE = 1


def main() -> None:
    app(prog_name="companion")


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


# -- settings and the companion ------------------------------------------------------


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="sqlite:///path, postgresql://… or memory:// (overrides COMPANION_DATABASE_URL)",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = database_url


def load_settings(ctx: typer.Context) -> Settings:
    overrides: dict[str, Any] = {}
    if ctx.find_root().obj:
        overrides["database_url"] = ctx.find_root().obj
    try:
        return Settings(**overrides)
    except ValidationError as error:
        fail("; ".join(_setting_problem(e) for e in error.errors()), code=FAILURE)
    except SettingsError as error:
        fail(str(error), code=FAILURE)


def _setting_problem(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"COMPANION_{field.upper()}: {message}" if field else message


@contextmanager
def opened(ctx: typer.Context, *, create_store: bool = True) -> Iterator[Companion]:
    """The companion for this command, closed when the command ends however it ends.

    Commands that only read pass `create_store=False`: a store that does not
    exist is then an error, never a new empty store that would read as "no events".
    """
    settings = load_settings(ctx)
    # Logs go to stderr, so that what a command prints on stdout stays parseable.
    configure_logging(settings.log_level, settings.log_format)
    try:
        companion = bootstrap(settings, create_store=create_store)
    except SettingsError as error:
        fail(str(error), code=FAILURE)
    except PersistenceError as error:
        fail(f"cannot open the event store: {' '.join(str(error).split())}", code=FAILURE)
    try:
        yield companion
    except StoreUnreadable as error:
        fail(f"{error}. Is COMPANION_CIPHER_KEY the key the events were written with?", FAILURE)
    except (StoreUnavailable, PersistenceError) as error:
        fail(f"the event store failed: {' '.join(str(error).split())}", code=FAILURE)
    finally:
        companion.close()


def shown_url(url: str) -> str:
    """A database URL fit to print: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# -- serve ---------------------------------------------------------------------------


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="default: COMPANION_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default: COMPANION_PORT")] = None,
) -> None:
    """Serve the API (and, embedded, the projection runner)."""
    settings = load_settings(ctx)
    from companion.app.server import serve as serve_api

    serve_api(
        settings,
        host=host if host is not None else settings.host,
        port=port if port is not None else settings.port,
    )


# -- projections ---------------------------------------------------------------------


@projections_app.command("list")
def list_projections(ctx: typer.Context) -> None:
    """Every read model with its version, tracking key and tables."""
    with opened(ctx, create_store=False) as companion:
        table = Table("name", "version", "tracking key", "tables")
        for projection in companion.read_models.all():
            table.add_row(
                projection.name,
                str(projection.version),
                projection.key,
                ", ".join(projection.tables),
            )
        out.print(table)


@projections_app.command("status")
def projections_status(ctx: typer.Context) -> None:
    """How far each read model has got in the event log, and which store that log is."""
    with opened(ctx, create_store=False) as companion:
        out.print(f"data directory: {companion.settings.data_dir}", highlight=False)
        out.print(f"event store: {shown_url(companion.settings.database_url)}", highlight=False)
        runner = companion.runner
        head = runner.head()
        table = Table("name", "position", "head", "lag")
        for name in runner.projections:
            position = runner.position(name)
            table.add_row(name, str(position), str(head), str(max(0, head - position)))
        out.print(table)


@projections_app.command("rebuild")
def rebuild_projections(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="the projection to rebuild")] = None,
    all_: Annotated[bool, typer.Option("--all", help="rebuild every projection")] = False,
) -> None:
    """Rebuild read models from the start of the event log."""
    if (name is None) == (not all_):
        fail("give a projection NAME or --all (not both)")
    with opened(ctx) as companion:
        runner = companion.runner
        if name is not None and name not in runner.projections:
            fail(f"no projection named {name!r} (known: {', '.join(sorted(runner.projections))})")
        chosen = list(runner.projections.values()) if name is None else [runner.projections[name]]
        for projection in chosen:
            started = time.perf_counter()
            with progress_bar() as progress:
                task = progress.add_task(f"rebuilding {projection.key}", total=None)
                applied = runner.rebuild(projection, bar_updater(progress, task))
            took = time.perf_counter() - started
            out.print(f"rebuilt {projection.key}: {applied} events applied in {took:.2f} s")


@projections_app.command("run")
def run_projections(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="catch up, then exit")] = False,
) -> None:
    """The projection worker: catch up, then follow the event log until SIGINT or SIGTERM."""
    with opened(ctx) as companion:
        runner = companion.runner
        if once:
            for projection in runner.projections.values():
                applied = runner.catch_up(projection)
                position = runner.position(projection.name)
                log.info("projection.caught_up", projection=projection.key, events=applied)
                out.print(f"{projection.key}: {applied} events applied, at position {position}")
            return
        stopping: list[str] = []

        def stop(signum: int, _: Any) -> None:
            stopping.append(signal.Signals(signum).name)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            runner.start()
            log.info("projections.running", projections=sorted(runner.projections))
            reported: dict[str, int] = {}
            next_report = 0.0
            while not stopping:
                if time.monotonic() >= next_report:
                    reported = _report_progress(companion, reported)
                    next_report = time.monotonic() + HEARTBEAT_SECONDS
                time.sleep(0.1)
            log.info("projections.stopping", signal=stopping[0])
            runner.stop()
            _report_progress(companion, {})
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _report_progress(companion: Companion, reported: dict[str, int]) -> dict[str, int]:
    """Log each projection's position and lag when it moved since the last report."""
    runner = companion.runner
    head = runner.head()
    positions = {name: runner.position(name) for name in runner.projections}
    for name, position in positions.items():
        if reported.get(name) != position:
            lag = max(0, head - position)
            log.info("projection.progress", projection=name, position=position, lag=lag)
    return positions


@contextmanager
def progress_bar() -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        yield progress


def bar_updater(progress: Progress, task: TaskID) -> Callable[[int, int], None]:
    """A progress callback (position reached, head of the log) that moves the bar."""

    def update(position: int, head: int) -> None:
        progress.update(task, completed=position, total=head)

    return update


# -- events --------------------------------------------------------------------------


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
    try:
        return event_types(types or ())
    except UnknownEventType as error:
        fail(str(error))


@events_app.command("types")
def list_event_types(ctx: typer.Context) -> None:
    """Every event type of the domain, with how many of it the log holds."""
    with opened(ctx, create_store=False) as companion:
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
) -> None:
    """How many events the log holds (those that pass the filters)."""
    selected = chosen_types(types)
    with opened(ctx, create_store=False) as companion:
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
    format_: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.jsonl,
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
) -> None:
    """Export events, decrypted and attributed to their user and character.

    One JSON object per line (jsonl) or one CSV row per event, with a column per
    state field. Every event carries the user_id and character_id of its stream,
    whatever the filters.
    """
    selected = chosen_types(types)
    with opened(ctx, create_store=False) as companion:
        application = companion.application
        # Attribution and export read the same events: one appended in between
        # would be exported without its owner.
        head = log_head(application)
        attributions = read_attributions(application, head=head)
        wanted = event_filter(attributions, since, until, selected, user, character)
        export = Export(attributions, Redaction() if redact else None)
        if output is None:
            events = read_events(
                application, wanted, head=head, decode=True, attributions=attributions
            )
            with quiet_broken_pipe():
                export.write(sys.stdout, format_, events, selected)
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
            written = export.write(file, format_, events, selected)
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
    try:
        return attributions.user(user)
    except UnknownUser as error:
        fail(str(error), code=FAILURE)


def known_character(attributions: Attributions, character: UUID | None) -> UUID | None:
    if character is not None and attributions.of(character).character_id != character:
        fail(f"no character with id {character} in the event log", code=FAILURE)
    return character


@contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """A reader that stops early (`| head`) ends the export, successfully and silently."""
    try:
        yield
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(0) from None


def silence_stdout() -> None:
    """Whatever is still buffered for a closed pipe must not fail again at exit."""
    with suppress(OSError, ValueError):  # no file descriptor under a test runner
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
