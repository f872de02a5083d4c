"""`companion analytics state`: a character as it was at a past moment, from the log.

Its mood and expression, relationship level, the memories live at that moment
and the user's gems and the character's items, each aggregate replayed up to
its last event stamped at or before the moment (`app.history.state_at`).
Nothing is written. `register(analytics_app)` adds the command to a group.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.table import Table

from companion.app.cli.common import FAILURE, DatabaseUrl, fail, opened, out
from companion.app.cli.events import known_user, parse_instant

if TYPE_CHECKING:
    from companion.app.history.state_at import CharacterAt


def register(analytics_app: typer.Typer) -> None:
    """Add `state` to the `analytics` command group."""
    analytics_app.command("state")(character_state)


def character_state(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="the user (email or id)")],
    character: Annotated[UUID, typer.Option("--character", help="the character (id)")],
    at: Annotated[
        datetime,
        typer.Option("--at", parser=parse_instant, help="the moment (ISO; UTC if no zone)"),
    ],
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    database_url: DatabaseUrl = None,
) -> None:
    """A character as it was at a moment: mood, relationship, memories, gems and items."""
    if output not in ("table", "json"):
        fail("--format must be table or json")
    from companion.app.event_log import log_head, read_attributions
    from companion.app.history.state_at import character_at
    from companion.domain.errors import CharacterNotFound

    with opened(ctx, database_url, create_store=False) as companion:
        application = companion.application
        user_id = known_user(read_attributions(application, head=log_head(application)), user)
        if user_id is None:
            fail("--user names nobody")
        try:
            state = character_at(companion.uow, user_id=user_id, character_id=character, at=at)
        except CharacterNotFound:
            fail(f"{user} had no character {character} at {at.isoformat()}", FAILURE)
    if output == "json":
        out.print_json(_json(state))
    else:
        _tables(state)


def _json(state: CharacterAt) -> str:
    from dataclasses import asdict

    from companion.app.event_log import to_json

    record: dict[str, Any] = asdict(state)
    return json.dumps(json.loads(to_json(record)), ensure_ascii=False)


def _tables(state: CharacterAt) -> None:
    mood = state.mood
    out.print(
        f"{state.name} ({state.character_id}) for user {state.user_id} at {state.at.isoformat()}",
        highlight=False,
    )
    summary = Table("", "", show_header=False, title="state")
    summary.add_row("mood", f"{mood.mood} (baseline {mood.baseline})")
    summary.add_row("expression", mood.expression)
    summary.add_row(
        "mood last moved",
        "never" if mood.changed_at is None else f"{mood.changed_at.isoformat()} ({mood.cause})",
    )
    summary.add_row("relationship level", str(state.relationship_level))
    summary.add_row("gems", f"{state.gems}" + (f" ({state.owed} owed)" if state.owed else ""))
    out.print(summary)
    memories = Table("kind", "memory", "importance", "horizon", "recorded", title="memories")
    for m in state.memories:
        memories.add_row(
            m.kind, m.text, f"{m.importance:.2f}", m.horizon, m.recorded_at.isoformat()
        )
    out.print(memories)
    items = Table("item", "name", "equipped", title="items")
    for item in state.items:
        items.add_row(str(item.item_id), item.name or "", item.equipped_in or "")
    out.print(items)
