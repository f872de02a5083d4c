"""The event log written as a Parquet dataset: `events export --format parquet` and `analytics sql`.

Pages of the log are read as rows (a page ahead, from a thread of its own, while
the last one is written), turned into Arrow tables by
`analytics_export.EventColumns` and written by `analytics_export`'s writer.
Turning a stored event into a row is Python's work, one event at a time, so a
long log is split into as many ranges of positions as there are processors,
each exported by a process of its own (forked, with its own connections to the
store) into the same staging folder; a short one is not worth a process's start.
pyarrow is imported only when an export runs.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any

from companion.app.cli.common import FAILURE, bar_updater, err, fail, progress_bar

if TYPE_CHECKING:
    from eventsourcing.persistence import ApplicationRecorder

    from companion.app.bootstrap import Companion
    from companion.app.event_catalogue import Attributions
    from companion.app.event_log import EventFilter
    from companion.app.redaction import Redaction
    from companion.app.settings import Settings

PAGE_ROWS = 10_000
PARALLEL_FROM = 50_000
"""Positions in the log from which the export is shared between processes."""
PROCESSES = min(4, os.cpu_count() or 1) if "fork" in multiprocessing.get_all_start_methods() else 1


def write_parquet(
    companion: Companion,
    directory: Path,
    wanted: EventFilter,
    *,
    head: int,
    attributions: Attributions,
    redact: bool,
    show_progress: bool = True,
) -> int:
    """Export the events up to `head` that pass `wanted` into `directory`; how many.

    A progress bar on stderr follows the log's positions (unless `show_progress`
    is off). A folder holding an earlier export is replaced once the new one is
    complete; one holding anything else is refused (a usage error).
    """
    from companion.app.analytics_export import NotAnExport, check_replaceable, staged
    from companion.app.redaction import Redaction

    try:
        check_replaceable(directory)  # before a bar starts, as at the end
    except NotAnExport as error:
        fail(str(error))
    redaction = Redaction() if redact else None
    about = {
        "head": head,
        "redacted": redact,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    processes = PROCESSES if head >= PARALLEL_FROM else 1
    with progress_bar() if show_progress else nullcontext() as progress:
        on_progress: Callable[[int, int], None] = _ignore
        if progress is not None:
            task = progress.add_task(f"exporting to {directory}", total=head or None)
            on_progress = bar_updater(progress, task)
        try:
            with staged(directory, about) as staging:
                if processes > 1:
                    staging.rows = _in_processes(
                        companion.settings,
                        staging.root,
                        processes,
                        wanted,
                        head,
                        attributions,
                        redaction,
                        on_progress,
                    )
                else:
                    staging.rows = export_range(
                        companion, staging.root, "", 0, head, wanted, attributions, redaction,
                        on_progress,
                    )  # fmt: skip
        except NotAnExport as error:
            fail(str(error))
    if show_progress:
        err.print(f"exported {staging.rows} events to {directory}", highlight=False)
    return staging.rows


def export_range(
    companion: Companion,
    root: Path,
    prefix: str,
    after: int,
    head: int,
    wanted: EventFilter,
    attributions: Attributions,
    redaction: Redaction | None,
    on_progress: Callable[[int, int], None],
) -> int:
    """Write the events after `after` up to `head` into the dataset at `root`; how many."""
    from companion.app.analytics_export import SCHEMA, EventColumns, PartitionedWriter, write_tables
    from projections.decoding import fields_decoder_for

    application = companion.application
    mapper = application.mapper
    columns = EventColumns(mapper, fields_decoder_for(mapper), attributions, redaction)
    pages = read_pages(application.recorder, wanted.topics, head, on_progress, after=after)
    tables = (columns.table(rows, wanted) for rows in pages)
    return write_tables(PartitionedWriter(root, SCHEMA, prefix=prefix), tables)


def read_pages(
    recorder: ApplicationRecorder,
    topics: Sequence[str],
    head: int,
    on_progress: Callable[[int, int], None],
    *,
    after: int = 0,
) -> Iterator[Sequence[Any]]:
    """The log after `after` up to `head` as pages of rows (position, stream, version, topic,
    state)."""
    from projections.reading import ReadAhead, read_rows

    ahead = ReadAhead(recorder, topics, PAGE_ROWS, head)
    try:
        while after < head:
            rows = ahead.take(after, PAGE_ROWS, head)
            if rows is None:
                rows = read_rows(recorder, after + 1, PAGE_ROWS, head, topics)
            full = len(rows) == PAGE_ROWS
            after = rows[-1][0] if full else head
            if full:
                ahead.start(after)
            if rows:
                yield rows
            on_progress(after, head)
    finally:
        ahead.close()


def _in_processes(
    settings: Settings,
    root: Path,
    processes: int,
    wanted: EventFilter,
    head: int,
    attributions: Attributions,
    redaction: Redaction | None,
    on_progress: Callable[[int, int], None],
) -> int:
    """Export `processes` ranges of the log at once, each from a forked process; the rows.

    A process opens the store anew (the connections of this one are never used
    after the fork) and says on a queue how far it read and, at its end, how
    many rows it wrote or why it failed.
    """
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    bounds = [head * index // processes for index in range(processes + 1)]
    workers = [
        context.Process(
            target=_export_in_process,
            args=(queue, settings, root, f"{index}-", bounds[index], bounds[index + 1]),
            kwargs={"wanted": wanted, "attributions": attributions, "redaction": redaction},
            name=f"parquet-export-{index}",
            daemon=True,
        )
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    reached = dict.fromkeys(range(processes), 0)
    written, running = 0, processes
    try:
        while running:
            try:
                what, index, value = queue.get(timeout=1.0)
            except Empty:
                # A process that ended without a word (killed, crashed) never will.
                if any(w.exitcode not in (None, 0) for w in workers):
                    fail("a process of the export ended without finishing it", code=FAILURE)
                continue
            if what == "at":
                reached[index] = value - bounds[index]
                on_progress(sum(reached.values()), head)
            elif what == "done":
                written += value
                running -= 1
            else:
                fail(str(value), code=FAILURE)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    return written


def _export_in_process(
    queue: Any,
    settings: Settings,
    root: Path,
    prefix: str,
    after: int,
    head: int,
    *,
    wanted: EventFilter,
    attributions: Attributions,
    redaction: Redaction | None,
) -> None:
    """One range of the export, in a forked process: progress, then its rows or its error."""
    from companion.app.bootstrap import bootstrap
    from companion.app.errors import StoreUnreadable

    index = int(prefix.rstrip("-"))
    try:
        companion = bootstrap(settings, create_store=False)
        try:
            rows = export_range(
                companion, root, prefix, after, head, wanted, attributions, redaction,
                lambda position, _: queue.put(("at", index, position)),
            )  # fmt: skip
        finally:
            companion.close()
    except StoreUnreadable as error:
        hint = "Is COMPANION_CIPHER_KEY the key the events were written with?"
        queue.put(("failed", index, f"{error}. {hint}"))
    except Exception as error:
        queue.put(("failed", index, f"the export failed: {' '.join(str(error).split())}"))
    else:
        queue.put(("done", index, rows))


def _ignore(position: int, head: int) -> None:
    """No progress shown."""
