"""`companion replay reply MESSAGE_ID`: a stored reply's prompt asked again of another model.

The prompt is rebuilt from the log as it was (`app.provenance`): the persona
at the recorded version, the recorded window of turns, mood, day's event and
memories. A memory forgotten since is left out, and the output says so: a
replay is a later prompt too. The old and the new reply are printed side by
side. Nothing is written: no event, no read model.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.table import Table

from companion.app.cli.common import FAILURE, DatabaseUrl, fail, opened, out
from companion.app.cli.replay_emotions import replay_emotions

if TYPE_CHECKING:
    from companion.app.bootstrap import Companion
    from companion.app.provenance import StoredTake
    from companion.app.settings import Settings
    from companion.app.unit_of_work import UnitOfWork
    from companion.domain.chat import ChatModel, RecalledMemory

replay_app = typer.Typer(
    help="Ask a stored reply's prompt again of another model, or replay the stored moods"
    " through another emotion engine, writing nothing.",
    no_args_is_help=True,
)
replay_app.command("emotions")(replay_emotions)


@replay_app.command("reply")
def replay_reply(
    ctx: typer.Context,
    message_id: Annotated[UUID, typer.Argument(help="the reply's message id")],
    model: Annotated[
        str,
        typer.Option(
            help="'offline' (the offline companion) or a model name of the OpenAI-compatible"
            " server (COMPANION_OPENAI_BASE_URL or --base-url; OPENAI_API_KEY for OpenAI)",
        ),
    ] = "offline",
    base_url: Annotated[
        str | None,
        typer.Option(help="an OpenAI-compatible server (default: COMPANION_OPENAI_BASE_URL)"),
    ] = None,
    take: Annotated[
        int, typer.Option(min=1, help="which take of the reply: 1 the first, 2 and on swipes")
    ] = 1,
    character: Annotated[
        UUID | None,
        typer.Option(help="the reply's character (default: found in the conversations model)"),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table (side by side) or json")] = "table",
    database_url: DatabaseUrl = None,
) -> None:
    """Rebuild a reply's prompt from the log, ask the model, print the old and the new reply."""
    from companion.app.provenance import request_as_it_was, stored_reply
    from companion.domain.errors import DomainError

    if output not in ("table", "json"):
        fail("--format must be table or json")
    with opened(ctx, database_url, create_store=False) as companion:
        chat_model = _model(companion.settings, model, base_url)
        uow = companion.uow
        user_id, character_id = _whose(companion, message_id, character)
        try:
            reply = stored_reply(
                uow, user_id=user_id, character_id=character_id, message_id=message_id
            )
        except DomainError as error:
            fail(f"no such reply: {error.detail}", FAILURE)
        if take > len(reply.takes):
            fail(f"the reply has {len(reply.takes)} take(s)", FAILURE)
        stored = reply.takes[take - 1]
        memories, forgotten = _memories(uow, user_id, character_id, stored)
        try:
            request = request_as_it_was(
                uow,
                user_id=user_id,
                character_id=character_id,
                take=stored,
                memories=memories,
                sentiment=companion.feelings.sentiment,
            )
        except DomainError as error:
            fail(f"cannot rebuild the prompt: {error.detail}", FAILURE)
        answer = chat_model.reply(request)
    if output == "json":
        out.print_json(
            json.dumps(
                {
                    "message_id": str(message_id),
                    "take": take,
                    "old": {"model": stored.model, "text": stored.text},
                    "new": {"model": answer.model, "text": answer.text},
                    "fallback": answer.fallback,
                    "memories": [str(m.memory_id) for m in memories],
                    "memories_forgotten_since": forgotten,
                },
                ensure_ascii=False,
            )
        )
        return
    table = Table(title=f"reply {message_id}, take {take}", show_lines=True)
    table.add_column(f"as stored ({stored.model})", overflow="fold")
    table.add_column(f"replayed ({answer.model}{', fallback' if answer.fallback else ''})")
    table.add_row(stored.text, answer.text)
    out.print(table)
    if forgotten:
        out.print(f"{forgotten} memory(ies) of the prompt were forgotten since and left out")


def _model(settings: Settings, name: str, base_url: str | None) -> ChatModel:
    from companion.adapters.llm.offline import MODEL_NAME as OFFLINE_MODEL
    from companion.adapters.llm.offline import OfflinePersonaResponder
    from companion.adapters.llm.openai_chat import NO_KEY, OpenAIChatModel
    from companion.domain.prompt import PromptBudget

    if name in ("offline", OFFLINE_MODEL):
        return OfflinePersonaResponder()
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    url = base_url or settings.openai_base_url
    if not key and not url:
        fail(
            "a model other than 'offline' needs OPENAI_API_KEY, or --base-url"
            " (COMPANION_OPENAI_BASE_URL) for a local server",
            FAILURE,
        )
    return OpenAIChatModel(
        api_key=key or NO_KEY,
        model=name,
        base_url=url,
        timeout=settings.llm_timeout_seconds,
        retries=settings.llm_retries,
        budget=PromptBudget(
            prompt_tokens=settings.prompt_budget_tokens,
            context_tokens=settings.model_context_tokens,
            reply_tokens=settings.reply_max_tokens,
        ),
    )


def _whose(companion: Companion, message_id: UUID, character: UUID | None) -> tuple[UUID, UUID]:
    """The reply's user and character: from --character, else the conversations model."""
    from companion.domain.characters import Character

    if character is not None:
        found = companion.uow.find(Character, character)
        if found is None:
            fail(f"no such character: {character}", FAILURE)
        return found.owner_id, character
    conversations = companion.read_models.conversations
    with companion.views.read() as cursor:
        rows = cursor.query(
            f"SELECT c.user_id, c.character_id FROM {conversations.messages_table} m"
            f" JOIN {conversations.conversations_table} c"
            " ON c.conversation_id = m.conversation_id WHERE m.message_id = :id",
            {"id": message_id},
        )
    if not rows:
        fail(
            f"no reply {message_id} in the conversations read model (pass --character, or"
            " let the projections catch up)",
            FAILURE,
        )
    return UUID(str(rows[0]["user_id"])), UUID(str(rows[0]["character_id"]))


def _memories(
    uow: UnitOfWork, user_id: UUID, character_id: UUID, take: StoredTake
) -> tuple[tuple[RecalledMemory, ...], int]:
    """The prompt's memories that are still remembered, and how many were forgotten since."""
    from companion.domain.chat import RecalledMemory
    from companion.domain.identity import memory_book_id
    from companion.domain.memory import MemoryBook

    if take.provenance is None or not take.provenance.memories:
        return (), 0
    book = uow.find(MemoryBook, memory_book_id(user_id, character_id))
    if book is None:
        return (), len(take.provenance.memories)
    now = uow.clock()
    kept = []
    for memory_id, score in take.provenance.memories:
        memory = book.memory(memory_id, now)
        if memory is not None:
            kept.append(
                RecalledMemory(
                    memory_id=memory_id,
                    text=memory.text,
                    kind=memory.kind,
                    score=score,
                    tags=memory.tags,
                    subject=memory.subject,
                    value=memory.value,
                )
            )
    return tuple(kept), len(take.provenance.memories) - len(kept)
