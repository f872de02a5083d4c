"""`companion`: serve the API, run and rebuild projections, count and export events."""

from __future__ import annotations

from typing import Annotated

import typer

from companion.app.cli.analytics import analytics_app
from companion.app.cli.analytics_report import register as register_analytics_report
from companion.app.cli.analytics_sql import register as register_analytics_sql
from companion.app.cli.analytics_state import register as register_analytics_state
from companion.app.cli.catalogue import catalogue_app
from companion.app.cli.common import DatabaseUrl, load_settings
from companion.app.cli.demo import demo_app
from companion.app.cli.events import events_app
from companion.app.cli.events_tail import tail_events
from companion.app.cli.projections import projections_app
from companion.app.cli.replay import replay_app
from companion.app.cli.store import store_app
from companion.app.cli.users import users_app

# Locals in a traceback could hold what users wrote: never show them.
app = typer.Typer(
    help="Serve the companion API, run and rebuild its projections, count and export its events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(projections_app, name="projections")
events_app.command("tail")(tail_events)
app.add_typer(events_app, name="events")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(store_app, name="store")
app.add_typer(replay_app, name="replay")
app.add_typer(demo_app, name="demo")
register_analytics_sql(analytics_app)
register_analytics_state(analytics_app)
register_analytics_report(analytics_app)
app.add_typer(analytics_app, name="analytics")
app.add_typer(users_app, name="users")


def main() -> None:
    app(prog_name="companion")


@app.callback()
def root(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    ctx.obj = database_url


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="default: COMPANION_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default: COMPANION_PORT")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the API (and, embedded, the projection runner)."""
    settings = load_settings(ctx, database_url)
    from companion.app.server import serve as serve_api

    serve_api(
        settings,
        host=host if host is not None else settings.host,
        port=port if port is not None else settings.port,
    )
