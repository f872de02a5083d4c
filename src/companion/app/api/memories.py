"""What a character remembers of the caller, where each memory came from, and forgetting one.

`GET …/memories` (paged, newest first, by type), `GET …/memories/{memory_id}`
and `DELETE …/memories/{memory_id}`. Each memory says where it came from:
the messages it was found in (their text and time) and the extractors (a rule
or the model) that found it. Another user's character is character_not_found;
an unknown, forgotten or another character's memory is memory_not_found; the
answer is the same whichever it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, delete, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from pydantic import BaseModel, Field

from companion.app.api.dependencies import MemoriesDep, ReadsDep, ReadYourWritesDep, UserId
from companion.app.api.reads import Reads
from companion.domain.errors import CharacterNotFound, MemoryNotFound
from projections.memories import MemoryView
from projections.store import as_datetime, as_uuid

MemoryType = Literal["event", "preference", "relationship", "significant"]


class SourceOut(BaseModel):
    message_id: UUID
    text: str | None = Field(description="the message as the user wrote it; null once it is gone")
    at: datetime | None = Field(description="when the user sent it; null once it is gone")


class MemoryOut(BaseModel):
    memory_id: UUID
    type: MemoryType
    content: str = Field(description="the fact, as the prompt shows it")
    importance: float = Field(ge=0, le=1)
    tags: list[str]
    emotion: str | None
    created_at: datetime
    last_recalled_at: datetime = Field(description="the last time the fact was said again")
    reinforcements: int = Field(ge=0, description="how many times the fact was said again")
    horizon: Literal["short", "long", "significant"]
    expires_at: datetime | None = Field(description="null: kept until forgotten")
    supersedes: UUID | None = Field(description="the memory this one corrected")
    sources: list[SourceOut] = Field(description="the messages it was found in, oldest first")
    extractor: str = Field(description="what found it first: rule:<name> or model:<name>")
    extractors: list[str]


class MemoryPageOut(BaseModel):
    memories: list[MemoryOut]
    next_before: UUID | None = Field(description="pass as `before` for older memories")


def _owned(reads: Reads, user_id: UUID, character_id: UUID) -> None:
    if reads.characters.get(user_id, character_id) is None:
        raise CharacterNotFound("no such character")


def _sources(reads: Reads, views: Iterable[MemoryView]) -> dict[UUID, SourceOut]:
    """The source messages of these memories, from the conversations read model."""
    wanted = sorted({m for view in views for m in view.source_message_ids}, key=str)
    if not wanted:
        return {}
    rows = reads.conversations.message_rows(wanted)
    found = {
        as_uuid(row["message_id"]): SourceOut(
            message_id=as_uuid(row["message_id"]),
            text=row["text"],
            at=as_datetime(row["created_at"]),
        )
        for row in rows
    }
    return {m: found.get(m) or SourceOut(message_id=m, text=None, at=None) for m in wanted}


def _memory_out(view: MemoryView, sources: dict[UUID, SourceOut]) -> MemoryOut:
    return MemoryOut(
        memory_id=view.memory_id,
        type=view.kind,  # type: ignore[arg-type]
        content=view.text,
        importance=view.importance,
        tags=view.tags,
        emotion=view.emotion,
        created_at=view.recorded_at,
        last_recalled_at=view.last_reinforced_at,
        reinforcements=view.reinforcements,
        horizon=view.horizon,  # type: ignore[arg-type]
        expires_at=view.expires_at,
        supersedes=view.supersedes,
        sources=[sources[m] for m in view.source_message_ids if m in sources],
        extractor=view.extractors[0] if view.extractors else "",
        extractors=view.extractors,
    )


class MemoriesController(Controller):
    path = "/api/v1/characters/{character_id:uuid}/memories"
    tags = ["memories"]  # noqa: RUF012

    @get("/", operation_id="listMemories", sync_to_thread=True)
    def list_memories(
        self,
        character_id: FromPath[UUID],
        reads: ReadsDep,
        user_id: UserId,
        before: FromQuery[UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        memory_type: Annotated[MemoryType | None, QueryParameter(name="type")] = None,
    ) -> MemoryPageOut:
        """The character's live memories of the caller, newest first."""
        _owned(reads, user_id, character_id)
        page = reads.memories.page(
            user_id, character_id, before=before, limit=limit, kind=memory_type
        )
        if page is None:
            raise MemoryNotFound("no such memory")
        sources = _sources(reads, page.memories)
        return MemoryPageOut(
            memories=[_memory_out(view, sources) for view in page.memories],
            next_before=page.next_before,
        )

    @get("/{memory_id:uuid}", operation_id="getMemory", sync_to_thread=True)
    def get_memory(
        self,
        character_id: FromPath[UUID],
        memory_id: FromPath[UUID],
        reads: ReadsDep,
        user_id: UserId,
    ) -> MemoryOut:
        """One memory, with the messages it came from."""
        _owned(reads, user_id, character_id)
        view = reads.memories.get(user_id, character_id, memory_id)
        if view is None:
            raise MemoryNotFound("no such memory")
        return _memory_out(view, _sources(reads, [view]))

    @delete(
        "/{memory_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="forgetMemory",
        sync_to_thread=True,
        description="The character forgets this memory for good: it leaves the list, recall"
        " and every later prompt; the same message never brings it back.",
    )
    def forget_memory(
        self,
        character_id: FromPath[UUID],
        memory_id: FromPath[UUID],
        memories: MemoriesDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> None:
        position = memories.forget(user_id=user_id, character_id=character_id, memory_id=memory_id)
        read_your_writes(request, position, ["memories"])
