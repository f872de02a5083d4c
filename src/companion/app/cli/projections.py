"""`companion projections …`: list, status, rebuild and run the read models."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from companion.app.cli.common import (
    DatabaseUrl,
    bar_updater,
    fail,
    opened,
    out,
    progress_bar,
    shown_url,
)

if TYPE_CHECKING:
    from companion.app.bootstrap import Companion

projections_app = typer.Typer(help="Read models: list, status, rebuild, run.", no_args_is_help=True)
HEARTBEAT_SECONDS = 5.0
# A rebuild reads and writes in larger batches than the live runner: each is one
# short transaction of its own, and bigger ones cost fewer round trips an event.
REBUILD_BATCH_SIZE = 5000


@projections_app.command("list")
def list_projections(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """Every read model with its version, tracking key and tables."""
    with opened(ctx, database_url, create_store=False) as companion:
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
def projections_status(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """How far each read model has got in the event log, and which store that log is."""
    with opened(ctx, database_url, create_store=False) as companion:
        # Whole lines however long the path: scripts and people copy them as they are.
        out.print(f"data directory: {companion.settings.data_dir}", highlight=False, soft_wrap=True)
        out.print(
            f"event store: {shown_url(companion.settings.database_url)}",
            highlight=False,
            soft_wrap=True,
        )
        runner = companion.runner
        head = runner.head()
        led = _leaders(companion)
        table = Table("name", "position", "head", "lag", *(["leader"] if led is not None else []))
        for name in runner.projections:
            position = runner.position(name)
            row = [name, str(position), str(head), str(max(0, head - position))]
            if led is not None:
                row.append(led.get(name, "none"))
            table.add_row(*row)
        out.print(table)


def _leaders(companion: Companion) -> dict[str, str] | None:
    """On PostgreSQL, the worker leading each read model (worker id (host:pid)), from the
    locks the workers hold and their heartbeats; None where there is no leadership."""
    from projections.leadership import leaders
    from projections.postgres_views import PostgresViewStore

    views = companion.views
    if not isinstance(views, PostgresViewStore):
        return None
    workers = {w.worker_id: w for w in companion.runner.workers()}
    shown: dict[str, str] = {}
    for name, worker_id in leaders(views, list(companion.runner.projections)).items():
        worker = workers.get(worker_id)
        where = f" ({worker.host}:{worker.pid})" if worker is not None else ""
        shown[name] = f"{worker_id[:8]}{where}"
    return shown


@projections_app.command("rebuild")
def rebuild_projections(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="the projection to rebuild")] = None,
    all_: Annotated[bool, typer.Option("--all", help="rebuild every projection")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Rebuild read models from the start of the event log, into fresh tables.

    The live tables keep answering (and following the log) until the rebuilt
    ones have caught up and take their place in one transaction. A read model
    being rebuilt by another process is refused, not rebuilt twice at once.
    """
    from projections.rebuild_guard import RebuildInProgress, exclusive_rebuild

    if (name is None) == (not all_):
        fail("give a projection NAME or --all (not both)")
    with opened(ctx, database_url) as companion:
        runner = companion.runner
        if name is not None and name not in runner.projections:
            fail(f"no projection named {name!r} (known: {', '.join(sorted(runner.projections))})")
        chosen = list(runner.projections.values()) if name is None else [runner.projections[name]]
        for projection in chosen:
            started = time.perf_counter()
            try:
                with (
                    exclusive_rebuild(companion.views, projection.key),
                    progress_bar() as progress,
                ):
                    task = progress.add_task(f"rebuilding {projection.key}", total=None)
                    applied = runner.rebuild(
                        projection,
                        bar_updater(progress, task),
                        batch_size=max(REBUILD_BATCH_SIZE, runner.batch_size),
                    )
            except RebuildInProgress as busy:
                fail(str(busy))
            took = time.perf_counter() - started
            out.print(f"rebuilt {projection.key}: {applied} events applied in {took:.2f} s")


@projections_app.command("run")
def run_projections(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="catch up, then exit")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The projection worker: catch up, then follow the event log until SIGINT or SIGTERM."""
    import structlog

    from companion.app.api.ws_channels import channels_prefix, redis_day_announcer

    log = structlog.get_logger(__name__)
    with opened(ctx, database_url) as companion:
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
            _share_with_other_workers(companion)
            runner.start()
            if companion.daily_life is not None and companion.settings.daily_life:
                if companion.redis is not None:
                    # The days lived here reach the users' sockets through the API processes.
                    companion.daily_life.announce = redis_day_announcer(
                        companion.redis, channels_prefix(companion.settings)
                    )
                companion.daily_life.start()
            log.info("projections.running", projections=sorted(runner.projections))
            reported: dict[str, int] = {}
            next_report = 0.0
            while not stopping:
                if time.monotonic() >= next_report:
                    reported = _report_progress(companion, reported)
                    next_report = time.monotonic() + HEARTBEAT_SECONDS
                time.sleep(0.1)
            log.info("projections.stopping", signal=stopping[0])
            if companion.daily_life is not None:
                companion.daily_life.stop()
            runner.stop()
            _report_progress(companion, {})
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _share_with_other_workers(companion: Companion) -> None:
    """On PostgreSQL, lead only this worker's share of the read models (see
    `projections.leadership`); elsewhere there is one worker, which applies them all."""
    from uuid import uuid4

    from projections.leadership import Leadership
    from projections.postgres_views import PostgresViewStore

    if isinstance(companion.views, PostgresViewStore):
        runner = companion.runner
        runner.lead_with(
            Leadership(
                companion.views,
                list(runner.projections),
                uuid4().hex,
                retry_seconds=companion.settings.projection_leadership_retry_seconds,
            )
        )


def _report_progress(companion: Companion, reported: dict[str, int]) -> dict[str, int]:
    """Log each projection's position and lag when it moved since the last report."""
    import structlog

    log = structlog.get_logger(__name__)
    runner = companion.runner
    head = runner.head()
    positions = {name: runner.position(name) for name in runner.projections}
    for name, position in positions.items():
        if reported.get(name) != position:
            lag = max(0, head - position)
            log.info("projection.progress", projection=name, position=position, lag=lag)
    return positions
