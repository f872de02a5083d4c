"""`companion analytics sql`: questions about the event log answered in SQL, by DuckDB.

The events are a view named ``events``, one row per event: position, event_id,
stream_id, version, type (``Conversation.UserMessageSent``), time (UTC), day,
user_id, character_id, text_chars and state (JSON: ``state->>'after'``). They
come from a Parquet export (``--parquet DIR``, written by `events export
--format parquet`) or, by default, from an export of the store made for the
question into a temporary folder. `register(analytics_app)` adds the command to
a group. DuckDB is imported only when the command runs.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from companion.app.cli.common import DatabaseUrl, fail, opened, out, quiet_broken_pipe

Answer = Literal["table", "json", "csv"]
EVENTS_VIEW = """
CREATE VIEW events AS
SELECT position, event_id, stream_id, version, type, time, day, user_id, character_id,
       text_chars, CAST(state AS JSON) AS state
FROM read_parquet({files}, hive_partitioning = true,
                  hive_types = {{'day': DATE, 'type': VARCHAR}})
"""
# The same columns when the export holds no event, so that a question still has its table.
NO_EVENTS_VIEW = """
CREATE VIEW events AS
SELECT NULL::BIGINT AS position, NULL::VARCHAR AS event_id, NULL::VARCHAR AS stream_id,
       NULL::BIGINT AS version, NULL::VARCHAR AS type, NULL::TIMESTAMPTZ AS time,
       NULL::DATE AS day, NULL::VARCHAR AS user_id, NULL::VARCHAR AS character_id,
       NULL::INTEGER AS text_chars, NULL::JSON AS state
WHERE false
"""


class BadQuestion(Exception):
    """SQL that DuckDB could not run over the events: its first line says why."""


def register(analytics_app: typer.Typer) -> None:
    """Add `sql` to the `analytics` command group."""
    analytics_app.command("sql")(run_sql)


def run_sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="SQL over the view `events` (DuckDB's dialect)")],
    parquet: Annotated[
        Path | None,
        typer.Option(
            "--parquet",
            help="a folder written by `events export --format parquet`; default: export"
            " the store now, into a temporary folder",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    format_: Annotated[Answer, typer.Option("--format")] = "table",
    database_url: DatabaseUrl = None,
) -> None:
    """Answer SQL about the events, one row per event in the view `events`.

    Columns: position, event_id, stream_id, version, type, time, day, user_id,
    character_id, text_chars and state (JSON, e.g. state->>'after').
    """
    if parquet is not None:
        answer(query, parquet, format_)
        return
    from companion.app.cli.parquet_export import write_parquet
    from companion.app.event_log import EventFilter, log_head, read_attributions

    with tempfile.TemporaryDirectory(prefix="companion-analytics-") as folder:
        exported = Path(folder) / "events"
        with opened(ctx, database_url, create_store=False) as companion:
            application = companion.application
            head = log_head(application)
            attributions = read_attributions(application, head=head)
            write_parquet(
                companion,
                exported,
                EventFilter(),
                head=head,
                attributions=attributions,
                redact=False,
            )
        answer(query, exported, format_)


def answer(query: str, directory: Path, format_: Answer) -> None:
    """Print the answer to `query` over the export in `directory`; bad SQL is a usage error."""
    try:
        columns, rows = ask(query, directory)
    except BadQuestion as error:
        fail(str(error))
    with quiet_broken_pipe():
        if format_ == "json":
            answers = [dict(zip(columns, row, strict=True)) for row in rows]
            sys.stdout.write(json.dumps(answers, ensure_ascii=False, default=_plain) + "\n")
            sys.stdout.flush()
        elif format_ == "csv":
            writer = csv.writer(sys.stdout)
            writer.writerow(columns)
            writer.writerows([_cell(value) for value in row] for row in rows)
            sys.stdout.flush()
        else:
            # Text, not markup: a value such as '["a"]' is shown as it is.
            table = Table(*(escape(column) for column in columns))
            for row in rows:
                table.add_row(*(Text(_cell(value)) for value in row))
            out.print(table)


def ask(query: str, directory: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and rows DuckDB answers to `query` over the export in `directory`."""
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        # Days and times in UTC, as the events are stamped, whatever the machine's zone.
        connection.execute("SET TimeZone = 'UTC'")
        files = sorted(directory.glob("day=*/type=*/*.parquet"))
        if files:
            listed = "[" + ", ".join(_literal(str(f)) for f in files) + "]"
            connection.execute(EVENTS_VIEW.format(files=listed))
        else:
            connection.execute(NO_EVENTS_VIEW)
        try:
            result = connection.execute(query)
            rows = result.fetchall()
        except duckdb.Error as error:
            raise BadQuestion(_first_line(error)) from None
        description: Sequence[Any] = result.description or ()
        return [str(column[0]) for column in description], rows
    finally:
        connection.close()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
