"""Characters and their conversations."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
import structlog
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from companion.app.alternatives import AlternativeReply
from companion.app.api import schemas
from companion.app.api.dependencies import (
    AlternativesDep,
    CharactersDep,
    ChatDep,
    FeelingsDep,
    MessageLimitsDep,
    ReadsDep,
    ReadYourWritesDep,
    RunnerDep,
    UserId,
)
from companion.app.api.openapi import errors
from companion.app.api.reads import Reads
from companion.app.api.ws_channels import UserChannels
from companion.app.api.ws_turns import READ_MODELS_OF_A_TURN, alternative_frames, turn_frames
from companion.app.message_limits import sending
from companion.domain.characters import Persona
from companion.domain.errors import CharacterNotFound
from companion.domain.identity import conversation_id
from projections.characters import CharacterView

log = structlog.get_logger(__name__)


def _character_out(view: CharacterView) -> schemas.CharacterOut:
    persona = view.persona
    return schemas.CharacterOut(
        character_id=view.character_id,
        name=persona["name"],
        nickname=persona["nickname"],
        gender=persona["gender"],
        age=persona["age"],
        occupation=persona.get("occupation"),
        hobbies=list(persona.get("hobbies", [])),
        personality=schemas.Personality(**persona["personality"]),
        backstory=persona.get("backstory"),
        relationship_level=view.relationship_level,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def _alternative_out(reply: AlternativeReply) -> schemas.AlternativeOut:
    return schemas.AlternativeOut(
        message_id=reply.message_id,
        alternative=reply.alternative,
        alternatives=reply.alternatives,
        text=reply.text,
        fallback=reply.fallback,
    )


class CharacterController(Controller):
    path = "/api/v1/characters"
    tags = ["characters"]  # noqa: RUF012

    @post("/", status_code=HTTP_201_CREATED, operation_id="createCharacter", sync_to_thread=True)
    def create(
        self,
        data: JSONBody[schemas.CharacterBody],
        characters: CharactersDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> schemas.CharacterCreated:
        persona = Persona.parse(
            name=data.name,
            nickname=data.nickname,
            gender=data.gender,
            age=data.age,
            personality=data.personality.model_dump(),
            occupation=data.occupation,
            hobbies=data.hobbies,
            backstory=data.backstory,
        )
        character_id, position = characters.create_character(user_id=user_id, persona=persona)
        read_your_writes(request, position, ["characters"])
        return schemas.CharacterCreated(character_id=character_id)

    @get("/", operation_id="listCharacters", sync_to_thread=True)
    def list_characters(self, reads: ReadsDep, user_id: UserId) -> schemas.CharacterList:
        views = reads.characters.owned_by(user_id)
        return schemas.CharacterList(characters=[_character_out(v) for v in views])

    @get("/{character_id:uuid}", operation_id="getCharacter", sync_to_thread=True)
    def get_character(
        self, character_id: FromPath[UUID], reads: ReadsDep, user_id: UserId
    ) -> schemas.CharacterOut:
        return _character_out(self._owned(reads, user_id, character_id))

    @post(
        "/{character_id:uuid}/messages",
        status_code=HTTP_200_OK,
        operation_id="sendMessage",
        responses=errors(409, 429),
        description="A whole turn. Messages count against the plan's limits per minute and"
        " per day (429 with Retry-After beyond them; nothing is stored then). A retry with"
        " the client_message_id of a stored message answers that turn and is not counted."
        " The turn's frames also go to every open WebSocket of the user: chat_message,"
        " the final chat_response, then the mood's frames.",
    )
    async def send_message(
        self,
        character_id: FromPath[UUID],
        data: JSONBody[schemas.MessageBody],
        chat: ChatDep,
        message_limits: MessageLimitsDep,
        feelings: FeelingsDep,
        runner: RunnerDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
        channels: NamedDependency[UserChannels],
    ) -> schemas.TurnOut:
        # Async so that a turn waiting for its conversation's earlier turns holds no
        # worker thread; the store and the model run in one once its turn comes.
        turn = await chat.send_message_async(
            user_id=user_id,
            character_id=character_id,
            text=data.text,
            client_message_id=data.client_message_id,
            limits=message_limits,
        )
        frames = await anyio.to_thread.run_sync(
            partial(turn_frames, runner, feelings, user_id, character_id, data.text),
            data.client_message_id,
            turn,
        )
        channels.tell(user_id, frames)
        await anyio.to_thread.run_sync(
            read_your_writes, request, turn.position, READ_MODELS_OF_A_TURN
        )
        return schemas.TurnOut(
            message_id=turn.user_message_id,
            reply=schemas.Reply(
                message_id=turn.reply_message_id, text=turn.reply_text, fallback=turn.fallback
            ),
            mood=turn.mood,
            expression=turn.expression,
        )

    @get("/{character_id:uuid}/messages", operation_id="listMessages", sync_to_thread=True)
    def messages(
        self,
        character_id: FromPath[UUID],
        reads: ReadsDep,
        user_id: UserId,
        before: FromQuery[UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> schemas.MessagePageOut:
        self._owned(reads, user_id, character_id)
        page = reads.conversations.messages(
            conversation_id(user_id, character_id), before=before, limit=limit
        )
        return schemas.MessagePageOut(
            messages=[
                schemas.MessageOut(
                    message_id=m.message_id,
                    sender=m.sender,  # type: ignore[arg-type]
                    text=m.text,
                    created_at=m.created_at,
                    alternatives=m.alternatives,
                    chosen_alternative=m.chosen_alternative,
                )
                for m in page.messages
            ],
            next_before=page.next_before,
        )

    @post(
        "/{character_id:uuid}/messages/{message_id:uuid}/regenerate",
        status_code=HTTP_200_OK,
        operation_id="regenerateReply",
        sync_to_thread=True,
        responses=errors(409, 429),
        description="Another alternative of the conversation's latest reply, chosen at once;"
        " the earlier ones are kept. 404 for a message that is not a recent reply of the"
        " character, 409 when a later message followed it; 429 beyond the plan's message"
        " limits (a regenerated reply counts as a message). Every open WebSocket of the"
        " user gets the new alternative as a final chat_response.",
    )
    def regenerate(
        self,
        character_id: FromPath[UUID],
        message_id: FromPath[UUID],
        alternatives: AlternativesDep,
        message_limits: MessageLimitsDep,
        runner: RunnerDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
        channels: NamedDependency[UserChannels],
    ) -> schemas.AlternativeOut:
        with sending(message_limits, user_id):
            made = alternatives.regenerate_reply(
                user_id=user_id, character_id=character_id, message_id=message_id
            )
        channels.tell(user_id, alternative_frames(runner, character_id, made, None))
        read_your_writes(request, made.position, ["conversations"])
        return _alternative_out(made)

    @put(
        "/{character_id:uuid}/messages/{message_id:uuid}/choice",
        status_code=HTTP_200_OK,
        operation_id="chooseReply",
        sync_to_thread=True,
        responses=errors(409),
        description="The conversation goes on from this alternative of its latest reply;"
        " every open WebSocket of the user gets it as a final chat_response.",
    )
    def choose(
        self,
        character_id: FromPath[UUID],
        message_id: FromPath[UUID],
        data: JSONBody[schemas.ChoiceBody],
        alternatives: AlternativesDep,
        runner: RunnerDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
        channels: NamedDependency[UserChannels],
    ) -> schemas.AlternativeOut:
        chosen = alternatives.choose_reply(
            user_id=user_id,
            character_id=character_id,
            message_id=message_id,
            alternative=data.alternative,
        )
        channels.tell(user_id, alternative_frames(runner, character_id, chosen, None))
        read_your_writes(request, chosen.position, ["conversations"])
        return _alternative_out(chosen)

    @staticmethod
    def _owned(reads: Reads, user_id: UUID, character_id: UUID) -> CharacterView:
        view = reads.characters.get(user_id, character_id)
        if view is None:
            raise CharacterNotFound("no such character")
        return view
