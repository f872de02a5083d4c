"""What went into a reply: `GET …/messages/{message_id}/provenance`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath
from pydantic import BaseModel, Field

from companion.app.api.dependencies import UnitOfWorkDep, UserId
from companion.app.provenance import StoredTake, stored_reply
from companion.domain.prompt import PromptProvenance


class RecalledOut(BaseModel):
    memory_id: UUID
    score: float = Field(description="retrieval's score: relevance × importance × recency")


class ModelOut(BaseModel):
    model: str
    temperature: float | None = Field(description="null: the model's own default")
    max_tokens: int = Field(description="the most tokens the reply could take")
    prompt_budget_tokens: int
    context_tokens: int


class PromptOut(BaseModel):
    persona_version: int = Field(description="the character's version whose persona was used")
    mood: int | None
    relationship_level: int
    memories: list[RecalledOut] = Field(description="the memories in the prompt, best first")
    daily_event: str | None
    recent_turns: list[UUID] = Field(
        description="the messages of the recent-turn window in the prompt, oldest first"
    )
    in_reply_to: UUID
    model: ModelOut
    estimated_tokens: int
    shortened: bool = Field(description="the system prompt or the message was cut to fit")


class TakeOut(BaseModel):
    alternative: int = Field(description="1 for the first take, 2 and on for regenerations")
    text: str
    model: str
    fallback: bool
    created_at: datetime
    prompt: PromptOut | None = Field(
        description="null for replies stored before prompts were recorded"
    )


class ProvenanceOut(BaseModel):
    message_id: UUID
    in_reply_to: UUID
    takes: list[TakeOut]


def _prompt_out(provenance: PromptProvenance) -> PromptOut:
    return PromptOut(
        persona_version=provenance.persona_version,
        mood=provenance.mood,
        relationship_level=provenance.relationship_level,
        memories=[RecalledOut(memory_id=m, score=s) for m, s in provenance.memories],
        daily_event=provenance.daily_event,
        recent_turns=list(provenance.recent_turns),
        in_reply_to=provenance.in_reply_to,
        model=ModelOut(
            model=provenance.model,
            temperature=provenance.temperature,
            max_tokens=provenance.max_tokens,
            prompt_budget_tokens=provenance.prompt_budget_tokens,
            context_tokens=provenance.context_tokens,
        ),
        estimated_tokens=provenance.estimated_tokens,
        shortened=provenance.shortened,
    )


def _take_out(take: StoredTake) -> TakeOut:
    return TakeOut(
        alternative=take.alternative,
        text=take.text,
        model=take.model,
        fallback=take.fallback,
        created_at=take.at,
        prompt=None if take.provenance is None else _prompt_out(take.provenance),
    )


class ProvenanceController(Controller):
    path = "/api/v1/characters"
    tags = ["characters"]  # noqa: RUF012

    @get(
        "/{character_id:uuid}/messages/{message_id:uuid}/provenance",
        operation_id="getReplyProvenance",
        sync_to_thread=True,
        description="What went into each take of a reply's prompt: the persona's version, the"
        " mood, the memories and their scores, the day's event, the recent-turn window, the"
        " model and its parameters. 404 for anything that is not a reply of the caller's"
        " conversation with this character.",
    )
    def provenance(
        self,
        character_id: FromPath[UUID],
        message_id: FromPath[UUID],
        uow: UnitOfWorkDep,
        user_id: UserId,
    ) -> ProvenanceOut:
        reply = stored_reply(
            uow,
            user_id=user_id,
            character_id=character_id,
            message_id=message_id,
        )
        return ProvenanceOut(
            message_id=reply.message_id,
            in_reply_to=reply.in_reply_to,
            takes=[_take_out(take) for take in reply.takes],
        )
