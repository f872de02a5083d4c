"""What every command shares: its console, its errors, its settings and its store.

The command line must start at once (`companion --help`), so this module and
every command module import only what declaring the commands needs: the store,
the application and the settings are imported when a command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console, ConsoleDimensions

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from companion.app.bootstrap import Companion
    from companion.app.settings import Settings


class Stdout(Console):
    """What commands print: a reader that stops early (`| head`) ends the command, with success.

    Rich would exit 1 instead, so that `set -o pipefail` scripts would fail.
    """

    def on_broken_pipe(self) -> None:
        silence_stdout()
        raise typer.Exit(0)

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size; into a pipe or a file, as wide as a line needs.

        Rich would cut a table's cells to 80 columns when the output is not a
        terminal: what a script reads (`| grep`) must be whole. COLUMNS, when set,
        still decides.
        """
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        if self._width is None and not self.is_terminal and "COLUMNS" not in os.environ:
            return ConsoleDimensions(PIPED_WIDTH, size.height)
        return size  # type: ignore[no-any-return]

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


PIPED_WIDTH = 10_000
"""The width of what is printed into a pipe or a file: no line is cut."""


out = Stdout()
err = Console(stderr=True)

USAGE_ERROR = 2
# The store or the settings are wrong, not the command line.
FAILURE = 1


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


DATABASE_URL_HELP = "sqlite:///path, postgresql://… or memory:// (overrides COMPANION_DATABASE_URL)"
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help=DATABASE_URL_HELP, show_default=False),
]
"""The store a command works on: before the command (`companion --database-url … events
count`) or after it (`companion events count --database-url …`), which wins."""


def load_settings(ctx: typer.Context, database_url: str | None = None) -> Settings:
    """The settings of the environment, with the store the command line names, if any."""
    from pydantic import ValidationError

    from companion.app.settings import Settings, SettingsError

    overrides: dict[str, Any] = {}
    url = database_url or ctx.find_root().obj
    if url:
        overrides["database_url"] = url
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
def opened(
    ctx: typer.Context, database_url: str | None = None, *, create_store: bool = True
) -> Iterator[Companion]:
    """The companion for this command, closed when the command ends however it ends.

    Commands that only read pass `create_store=False`: a store that does not
    exist is then an error, never a new empty store that would read as "no events".
    """
    from eventsourcing.persistence import PersistenceError

    from companion.app.bootstrap import bootstrap
    from companion.app.errors import StoreUnavailable, StoreUnreadable
    from companion.app.logging import configure_logging
    from companion.app.settings import SettingsError

    settings = load_settings(ctx, database_url)
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


@contextmanager
def progress_bar() -> Iterator[Progress]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

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
