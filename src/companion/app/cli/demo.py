"""`companion demo seed`: a reproducible synthetic population, for demos and benchmarks."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from companion.app.cli.common import (
    FAILURE,
    DatabaseUrl,
    fail,
    load_settings,
    out,
    progress_bar,
)

demo_app = typer.Typer(help="Synthetic users and conversations.", no_args_is_help=True)

# Demo accounts are made quickly: their password is public anyway.
DEMO_ARGON2_TIME_COST = 1
DEMO_ARGON2_MEMORY_COST = 1024


@demo_app.command("seed")
def seed(
    ctx: typer.Context,
    users: Annotated[int, typer.Option(min=1, help="how many users sign up")] = 100,
    days: Annotated[int, typer.Option(min=1, help="how many days the simulation lasts")] = 30,
    seed_value: Annotated[int, typer.Option("--seed", help="the same seed, the same log")] = 1,
    start: Annotated[
        str, typer.Option(help="the simulation's first UTC day, YYYY-MM-DD")
    ] = "2026-01-01",
    database_url: DatabaseUrl = None,
) -> None:
    """Users who sign up over the days, chat in sessions (English and Japanese), buy gems
    and items, subscribe, renew and cancel (sandbox), and go quiet; through the real use
    cases, on a simulated clock, with the offline chat model."""
    from datetime import UTC, date, datetime
    from datetime import time as day_time

    from eventsourcing.persistence import PersistenceError

    from companion.adapters.passwords import Argon2Passwords
    from companion.app.bootstrap import bootstrap
    from companion.app.demo.clock import SimulatedClock
    from companion.app.demo.seeding import PASSWORD, seed_population
    from companion.app.logging import configure_logging
    from companion.app.settings import SettingsError
    from companion.domain.errors import EmailAlreadyRegistered

    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start: {start!r} is not a date (YYYY-MM-DD)")
    settings = load_settings(ctx, database_url)
    # The offline model and the payments sandbox, whatever the environment says.
    settings = settings.model_copy(update={"llm": "offline", "payments": "sandbox"})
    configure_logging("WARNING", settings.log_format)
    clock = SimulatedClock(datetime.combine(first, day_time(), UTC))
    passwords = Argon2Passwords(
        time_cost=DEMO_ARGON2_TIME_COST, memory_cost=DEMO_ARGON2_MEMORY_COST, max_concurrent=1
    )
    try:
        companion = bootstrap(settings, clock=clock, passwords=passwords)
    except SettingsError as error:
        fail(str(error), code=FAILURE)
    except PersistenceError as error:
        fail(f"cannot open the event store: {' '.join(str(error).split())}", code=FAILURE)
    started = time.perf_counter()
    try:
        with progress_bar() as progress:
            task = progress.add_task("seeding days", total=days)
            summary = seed_population(
                companion,
                clock,
                users=users,
                days=days,
                seed=seed_value,
                start=first,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except EmailAlreadyRegistered:
        fail(f"this store already holds the population of seed {seed_value}", code=FAILURE)
    finally:
        companion.close()
    took = time.perf_counter() - started
    out.print(
        f"seeded {summary.users} users over {summary.days} days from {first}:"
        f" {summary.steps} steps, {summary.events} events in {took:.1f} s"
        f" (emails s{seed_value}-user00000@demo.example.org…, password {PASSWORD!r})"
    )
