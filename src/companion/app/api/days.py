"""`GET /api/v1/characters/{id}/days`: the events of a character's own days, for its user."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter
from pydantic import BaseModel, Field

from companion.app.api.dependencies import UnitOfWorkDep, UserId
from companion.app.history.days import Day, character_days


class DayOut(BaseModel):
    day: date = Field(description="the date, in the user's time zone")
    key: str = Field(description="which of the daily-life events it was")
    kind: str = Field(description="school, work, friends, family, hobby or random")
    title: str
    description: str
    description_ja: str
    season: str
    mood_impact: int = Field(description="mood points the event moved the character by")
    occurred_at: datetime
    shared_in: UUID | None = Field(description="the reply that told it; null: not told yet")


class DayPageOut(BaseModel):
    days: list[DayOut]
    next_before: date | None = Field(description="pass as `before` for older days")


def _day_out(day: Day) -> DayOut:
    return DayOut(
        day=day.day,
        key=day.key,
        kind=day.kind,
        title=day.title,
        description=day.description,
        description_ja=day.description_ja,
        season=day.season,
        mood_impact=day.mood_impact,
        occurred_at=day.occurred_at,
        shared_in=day.shared_in,
    )


class DaysController(Controller):
    path = "/api/v1/characters"
    tags = ["characters"]  # noqa: RUF012

    @get(
        "/{character_id:uuid}/days",
        operation_id="listDays",
        sync_to_thread=True,
        description="The events of the character's own days, newest first: what it lived"
        " (school, work, friends, family, hobby, random), when, its mood impact, and the reply"
        " that told it. 404 for another user's character.",
    )
    def days(
        self,
        character_id: FromPath[UUID],
        uow: UnitOfWorkDep,
        user_id: UserId,
        since: Annotated[
            date | None, QueryParameter(name="from", description="from this day (included)")
        ] = None,
        until: Annotated[
            date | None, QueryParameter(name="to", description="up to this day (included)")
        ] = None,
        before: Annotated[
            date | None, QueryParameter(description="older than this day (`next_before`)")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> DayPageOut:
        page = character_days(
            uow,
            user_id=user_id,
            character_id=character_id,
            since=since,
            until=until,
            before=before,
            limit=limit,
        )
        return DayPageOut(days=[_day_out(d) for d in page.days], next_before=page.next_before)
