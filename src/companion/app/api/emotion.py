"""A character's mood (now, at a past moment, as a chart) and its avatar's face."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from companion.app.api import schemas
from companion.app.api.dependencies import FeelingsDep, ReadsDep, ReadYourWritesDep, UserId
from companion.app.api.reads import Reads
from companion.domain.characters import Personality
from companion.domain.emotion import Cycle, baseline
from companion.domain.errors import CharacterNotFound
from companion.domain.expression import EASING, TRANSITION_MS, mood_expression, parameters
from companion.domain.limits import MAX_MOOD_HISTORY_POINTS
from projections.characters import CharacterView
from projections.emotion_states import EmotionView


def _owned(reads: Reads, user_id: UUID, character_id: UUID) -> CharacterView:
    view = reads.characters.get(user_id, character_id)
    if view is None:
        raise CharacterNotFound("no such character")
    return view


def _utc(moment: datetime) -> datetime:
    """A query's time in UTC; one without a zone is taken as UTC.

    A moment at the edge of the calendar whose UTC falls outside it is the
    calendar's first or last moment.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if moment.year == datetime.min.year else datetime.max
        return edge.replace(tzinfo=UTC)


def _state(reads: Reads, character: CharacterView, at: datetime | None) -> EmotionView:
    states = reads.emotion_states
    owner, character_id = character.owner_id, character.character_id
    if at is None:
        view = states.current(owner, character_id)
    else:
        view = states.at(owner, character_id, _utc(at))
    if view is not None:
        return view
    # The character is read, its emotion row not yet: it is at its baseline.
    mood = baseline(Personality(**character.persona["personality"]))
    return EmotionView(
        character_id=character_id,
        user_id=owner,
        mood=mood,
        baseline=mood,
        factors=[],
        expression=mood_expression(mood),
        cause=None,
        updated_at=character.created_at,
    )


def avatar_out(reads: Reads, user_id: UUID, character_id: UUID) -> schemas.AvatarOut:
    """The avatar as it looks now: its expression from the mood, and what it wears."""
    character = _owned(reads, user_id, character_id)
    state = _state(reads, character, None)
    return schemas.AvatarOut(
        expression=state.expression,
        parameters=parameters(state.expression, state.mood),  # type: ignore[arg-type]
        transition_ms=TRANSITION_MS,
        easing=EASING,
        equipped={slot: UUID(item) for slot, item in character.equipped.items()},
    )


class EmotionController(Controller):
    path = "/api/v1/characters"
    tags = ["emotion"]  # noqa: RUF012

    @get("/{character_id:uuid}/emotion", operation_id="getEmotion", sync_to_thread=True)
    def emotion(
        self,
        character_id: FromPath[UUID],
        reads: ReadsDep,
        user_id: UserId,
        at: Annotated[
            datetime | None,
            QueryParameter(description="the state at this past moment (ISO 8601; UTC if no zone)"),
        ] = None,
    ) -> schemas.EmotionOut:
        """The character's mood towards the caller, with the factors of its last change."""
        state = _state(reads, _owned(reads, user_id, character_id), at)
        return schemas.EmotionOut(
            mood=state.mood,
            baseline=state.baseline,
            factors=[schemas.FactorOut(**factor) for factor in state.factors],
            cause=state.cause,
            expression=state.expression,
            parameters=parameters(state.expression, state.mood),  # type: ignore[arg-type]
            updated_at=state.updated_at,
        )

    @get(
        "/{character_id:uuid}/emotion/history",
        operation_id="getEmotionHistory",
        sync_to_thread=True,
    )
    def history(
        self,
        character_id: FromPath[UUID],
        reads: ReadsDep,
        user_id: UserId,
        since: Annotated[
            datetime | None, QueryParameter(name="from", description="from this moment")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(name="to", description="up to this moment")
        ] = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_MOOD_HISTORY_POINTS, description="the most recent")
        ] = 500,
    ) -> schemas.MoodHistoryOut:
        """Every mood change in the range, oldest first: a mood chart."""
        character = _owned(reads, user_id, character_id)
        points = reads.emotion_states.history(
            character.owner_id,
            character_id,
            since=None if since is None else _utc(since),
            until=None if until is None else _utc(until),
            limit=limit,
        )
        return schemas.MoodHistoryOut(
            points=[
                schemas.MoodPointOut(at=p.at, mood=p.mood, expression=p.expression) for p in points
            ]
        )

    @get("/{character_id:uuid}/avatar", operation_id="getAvatar", sync_to_thread=True)
    def avatar(
        self, character_id: FromPath[UUID], reads: ReadsDep, user_id: UserId
    ) -> schemas.AvatarOut:
        """The avatar's expression, its Live2D-style parameters, its transition and equipment."""
        return avatar_out(reads, user_id, character_id)

    @put("/{character_id:uuid}/emotion/cycle", operation_id="setCycle", sync_to_thread=True)
    def set_cycle(
        self,
        character_id: FromPath[UUID],
        data: JSONBody[schemas.CycleBody],
        feelings: FeelingsDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> schemas.CycleOut:
        """Opt the character in to a monthly cycle that weighs on its mood (off by default)."""
        position = feelings.set_cycle(
            user_id=user_id,
            character_id=character_id,
            cycle=Cycle(data.start, data.length_days),
        )
        read_your_writes(request, position, ["emotion_states"])
        return schemas.CycleOut(start=data.start, length_days=data.length_days)

    @delete(
        "/{character_id:uuid}/emotion/cycle",
        operation_id="clearCycle",
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
    )
    def clear_cycle(
        self,
        character_id: FromPath[UUID],
        feelings: FeelingsDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> None:
        """Opt the character out of the cycle factor."""
        position = feelings.set_cycle(user_id=user_id, character_id=character_id, cycle=None)
        read_your_writes(request, position, ["emotion_states"])
