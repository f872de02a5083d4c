"""`companion store migrate`: bring a PostgreSQL event store to the layout this version writes.

Stores written by an older version (the library's recorder, which drew
notification ids from a sequence under a table lock) are refused at startup
until this has run once. It keeps every event as it is — row, notification
id, order — so every projection's tracking position stays valid.
"""

from __future__ import annotations

import typer

from companion.app.cli.common import FAILURE, DatabaseUrl, fail, load_settings, out

store_app = typer.Typer(help="The event store itself: its layout.", no_args_is_help=True)


@store_app.command("migrate")
def migrate_store(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """Move a PostgreSQL store written by an older version to this version's layout.

    Run it once, with every other process of the store stopped; it is one
    transaction, and running it again changes nothing.
    """
    from eventsourcing.persistence import PersistenceError
    from eventsourcing.utils import Environment

    from companion.adapters.pg_schema import migrate
    from companion.adapters.postgres_store import PostgresStoreFactory
    from companion.app.logging import configure_logging
    from companion.app.persistence import store_for

    settings = load_settings(ctx, database_url)
    configure_logging(settings.log_level, settings.log_format)
    store = store_for(settings)
    if store.backend != "postgres":
        out.print(f"{store.url}: a {store.backend} store has nothing to migrate")
        return
    factory = PostgresStoreFactory(Environment("companion", store.event_env))
    table = f"{factory.env.name.lower()}_events"
    schema = factory.datastore.schema
    try:
        with factory.datastore.get_connection() as conn:
            highest = migrate(conn, schema, table)
    except PersistenceError as error:
        fail(f"cannot migrate {store.url}: {' '.join(str(error).split())}", code=FAILURE)
    finally:
        factory.close()
    if highest is None:
        out.print(f"{store.url}: {schema}.{table} is already in this version's layout")
    else:
        out.print(
            f"{store.url}: {schema}.{table} migrated; every event keeps its notification id"
            f" (the highest is {highest}), so projections keep their positions"
        )
