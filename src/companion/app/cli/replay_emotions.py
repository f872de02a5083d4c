"""`companion replay emotions --engine VERSION`: the stored moods replayed through another
version of the emotion engine, and how far they land from the stored ones.

The inputs are those the log recorded for each mood change (see
`app.history.emotion_replay`); the engines are the domain's registry
(`domain.emotion_engines`). Nothing is written: no event, no read model.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import typer
from rich.table import Table

from companion.app.cli.common import DatabaseUrl, fail, opened, out
from companion.app.cli.events import known_character, known_user, parse_instant

if TYPE_CHECKING:
    from companion.app.bootstrap import Companion
    from companion.app.history.emotion_replay import TrajectoryDifference

ByUser = Annotated[
    str | None, typer.Option("--user", help="only this user's characters (email or id)")
]
ByCharacter = Annotated[UUID | None, typer.Option("--character", help="only this character (id)")]
EngineVersion = Literal["v1", "v1-gentle", "v1-slow-decay"]
"""The versions of `domain.emotion_engines.ENGINES`, spelled here so that declaring the
command imports no domain model."""


def replay_emotions(
    ctx: typer.Context,
    engine: Annotated[
        EngineVersion | None,
        typer.Option(help="the engine to replay through (--list describes them)"),
    ] = None,
    list_engines: Annotated[
        bool, typer.Option("--list", help="list the registered engines and exit")
    ] = False,
    user: ByUser = None,
    character: ByCharacter = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            parser=parse_instant,
            help="replay the mood changes from this ISO time on (UTC if no zone); the earlier"
            " ones stay as stored",
        ),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    database_url: DatabaseUrl = None,
) -> None:
    """Replay the stored moods' inputs through an emotion engine; how far its moods land."""
    if output not in ("table", "json"):
        fail("--format must be table or json")
    if list_engines:
        _list(output)
        return
    if engine is None:
        fail("--engine is needed (or --list)")
    from companion.app.history.emotion_replay import compare, stored_trajectory
    from companion.domain.emotion_engines import CURRENT_ENGINE
    from companion.domain.emotion_engines import engine as registered

    chosen = registered(engine)
    with opened(ctx, database_url, create_store=False) as companion:
        differences = [
            compare(chosen, trajectory)
            for user_id, character_id in _states(companion, user, character)
            if (
                trajectory := stored_trajectory(
                    companion.uow, user_id=user_id, character_id=character_id, since=since
                )
            )
            is not None
        ]
    if output == "json":
        out.print_json(
            json.dumps(
                {
                    "engine": engine,
                    "stored_by": CURRENT_ENGINE,
                    "since": None if since is None else since.isoformat(),
                    "characters": [_record(d) for d in differences],
                }
            )
        )
        return
    _table(engine, CURRENT_ENGINE, since, differences)


def _states(
    companion: Companion, user: str | None, character: UUID | None
) -> list[tuple[UUID, UUID]]:
    """Every emotion state of the log (user × character), of the user or character asked."""
    from companion.app.event_catalogue import event_types
    from companion.app.event_log import EventFilter, log_head, read_attributions, read_events

    application = companion.application
    head = log_head(application)
    attributions = read_attributions(application, head=head)
    wanted = EventFilter(
        topics=tuple(t.topic for t in event_types(["EmotionState.Started"])),
        user_id=known_user(attributions, user),
        character_id=known_character(attributions, character),
    )
    return [
        (event.user_id, event.character_id)
        for _, event in read_events(
            application, wanted, head=head, decode=True, attributions=attributions
        )
    ]


def _record(difference: TrajectoryDifference) -> dict[str, object]:
    return {
        "user_id": str(difference.user_id),
        "character_id": str(difference.character_id),
        "changes": difference.changes,
        "mean_abs_difference": difference.mean_abs_difference,
        "max_abs_difference": difference.max_abs_difference,
        "expression_changes": difference.expression_changes,
        "stored_final": difference.stored_final,
        "replayed_final": difference.replayed_final,
    }


def _table(
    engine: str, current: str, since: datetime | None, differences: list[TrajectoryDifference]
) -> None:
    window = "" if since is None else f", from {since.isoformat()}"
    table = Table(
        "user",
        "character",
        "changes",
        "mean |Δ mood|",
        "max |Δ mood|",
        "expressions changed",
        "final mood (stored → replayed)",
        title=f"engine {engine} against the stored moods ({current}){window}",
    )
    for d in differences:
        table.add_row(
            str(d.user_id),
            str(d.character_id),
            str(d.changes),
            f"{d.mean_abs_difference:.2f}",
            str(d.max_abs_difference),
            str(d.expression_changes),
            f"{d.stored_final} → {d.replayed_final}",
        )
    out.print(table)
    if not differences:
        out.print("no mood was ever recorded for these characters")


def _list(output: str) -> None:
    from companion.domain.emotion_engines import CURRENT_ENGINE, ENGINES

    if output == "json":
        out.print_json(
            json.dumps(
                [
                    {
                        "version": e.version,
                        "current": e.version == CURRENT_ENGINE,
                        "summary": e.summary,
                    }
                    for e in ENGINES.values()
                ]
            )
        )
        return
    table = Table("engine", "current", "what it changes", title="emotion engines")
    for e in ENGINES.values():
        table.add_row(e.version, "yes" if e.version == CURRENT_ENGINE else "", e.summary)
    out.print(table)
