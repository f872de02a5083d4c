"""Character cards in and out: import a card (JSON, PNG, or the multipart field `card`) as a
new character, export a character as a card (V3 or V2, JSON or PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import (
    HTTP_201_CREATED,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from companion.app.api import schemas
from companion.app.api.body import BadBody, decode_json_body, is_json_media_type
from companion.app.api.dependencies import CharactersDep, ReadYourWritesDep, UserId
from companion.app.api.errors import VALIDATION_FAILED, field_error
from companion.app.api.openapi import errors
from companion.domain.character_cards import (
    MAX_JSON_CARD_BYTES,
    MAX_PNG_CARD_BYTES,
    V2,
    V3,
    CardTooLarge,
    CharacterCard,
    Spec,
    card_image,
    card_json,
    card_png,
    parse_card,
    parse_card_png,
)
from companion.domain.limits import MAX_AGE, MIN_AGE
from companion.domain.png_chunks import SIGNATURE, PngTooLarge, placeholder_png

MULTIPART_SLACK = 64 * 1024
"""What a multipart body may add around its card: boundaries and part headers."""
PNG = "image/png"
JSON = "application/json"
MULTIPART = "multipart/form-data"

_CARD_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["spec", "data"],
    properties={
        "spec": Schema(type=OpenAPIType.STRING, enum=[V2, V3]),
        "spec_version": Schema(type=OpenAPIType.STRING, examples=["3.0"]),
        "data": Schema(
            type=OpenAPIType.OBJECT,
            required=["name"],
            properties={"name": Schema(type=OpenAPIType.STRING, pattern=schemas.NOT_BLANK)},
            description="name, description, personality, scenario, first_mes, mes_example,"
            " creator_notes, system_prompt, post_history_instructions, alternate_greetings,"
            " character_book, tags, creator, character_version, extensions (and V3's"
            " assets, nickname, creator_notes_multilingual, source, group_only_greetings,"
            " creation_date, modification_date)",
        ),
    },
    description="A Character Card V2 or V3",
)
_BINARY = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]


@dataclass
class CardBodyOperation(Operation):
    """The import's body: a card as JSON, as a PNG, or as the multipart field `card`."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description=f"A Character Card V2 or V3: JSON (at most {MAX_JSON_CARD_BYTES}"
            f" bytes), a PNG carrying it (at most {MAX_PNG_CARD_BYTES} bytes), or either"
            " as the multipart field `card`.",
            content={
                JSON: OpenAPIMediaType(schema=_CARD_SCHEMA),
                PNG: OpenAPIMediaType(schema=_BINARY),
                MULTIPART: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["card"],
                        properties={"card": _BINARY},
                    )
                ),
            },
        )


@dataclass
class CardAnswerOperation(Operation):
    """The export's answer: the card as JSON or as a PNG."""

    def __post_init__(self) -> None:
        if self.responses is not None:
            self.responses["200"] = OpenAPIResponse(
                description="The character as a Character Card: JSON, or a PNG carrying it",
                content={
                    JSON: OpenAPIMediaType(schema=_CARD_SCHEMA),
                    PNG: OpenAPIMediaType(schema=_BINARY),
                },
            )


def _too_large(detail: str) -> BadBody:
    return BadBody(HTTP_413_REQUEST_ENTITY_TOO_LARGE, "body_too_large", detail)


def _from_json(raw: bytes) -> CharacterCard:
    if len(raw) > MAX_JSON_CARD_BYTES:
        raise _too_large(f"a JSON card may be at most {MAX_JSON_CARD_BYTES} bytes")
    return parse_card(decode_json_body(raw))


def _from_png(raw: bytes) -> tuple[CharacterCard, bytes]:
    if len(raw) > MAX_PNG_CARD_BYTES:
        raise _too_large(f"a PNG card may be at most {MAX_PNG_CARD_BYTES} bytes")
    try:
        return parse_card_png(raw), card_image(raw)
    except (CardTooLarge, PngTooLarge) as error:
        raise _too_large(error.detail) from None


async def _multipart_card(request: Request[Any, Any, Any]) -> bytes:
    try:
        form = await request.form()
    except HTTPException:
        raise
    except Exception:
        raise BadBody(400, "bad_request", "the multipart body cannot be read") from None
    upload = form.get("card")
    if upload is None:
        raise BadBody(
            HTTP_422_UNPROCESSABLE_ENTITY,
            VALIDATION_FAILED,
            "validation failed",
            errors=[field_error("card", "the multipart field card (the card's file) is missing")],
        )
    if isinstance(upload, UploadFile):
        return await upload.read()
    return str(upload).encode("utf-8")


async def card_of_request(request: Request[Any, Any, Any]) -> tuple[CharacterCard, bytes | None]:
    """The card a request carries, and the image it came on (a PNG's)."""
    content_type, options = request.content_type
    media = content_type.lower()
    if media == PNG:
        return _from_png(await request.body())
    if is_json_media_type(media, options):
        return _from_json(await request.body()), None
    if media == MULTIPART:
        raw = await _multipart_card(request)
        if raw.startswith(SIGNATURE):
            return _from_png(raw)
        return _from_json(raw), None
    raise BadBody(
        HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the card as application/json, image/png, or multipart/form-data (field card)",
    )


class CardController(Controller):
    path = "/api/v1/characters"
    tags = ["characters"]  # noqa: RUF012

    @post(
        "/import",
        status_code=HTTP_201_CREATED,
        operation_id="importCharacterCard",
        operation_class=CardBodyOperation,
        request_max_body_size=MAX_PNG_CARD_BYTES + MULTIPART_SLACK,
        responses=errors(400, 413, 415, 422),
    )
    async def import_card(
        self,
        request: Request[Any, Any, Any],
        characters: CharactersDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        age: Annotated[
            int | None,
            QueryParameter(
                ge=MIN_AGE,
                le=MAX_AGE,
                description="The character's age, for a card that states none (one that"
                " states an age uses its own).",
            ),
        ] = None,
        gender: Annotated[
            Literal["boyfriend", "girlfriend"] | None,
            QueryParameter(description="Chosen; else the card's own, else its pronouns'."),
        ] = None,
    ) -> schemas.CharacterCreated:
        """A new character from a Character Card V2 or V3 (see the README's Character cards).

        400 `invalid_card` for bytes that hold no card, 413 past the size limits, 422 for
        a card with wrong fields, an under-age card, or no age stated nor given."""
        card, image = await card_of_request(request)
        character_id, position = await anyio.to_thread.run_sync(
            partial(
                characters.import_character,
                user_id=user_id,
                card=card,
                image=image,
                age=age,
                gender=gender,
            )
        )
        await anyio.to_thread.run_sync(read_your_writes, request, position, ["characters"])
        return schemas.CharacterCreated(character_id=character_id)

    @get(
        "/{character_id:uuid}/card",
        operation_id="exportCharacterCard",
        operation_class=CardAnswerOperation,
        sync_to_thread=True,
    )
    def export_card(
        self,
        character_id: FromPath[UUID],
        characters: CharactersDep,
        user_id: UserId,
        as_format: Annotated[
            Literal["json", "png"],
            QueryParameter(name="format", description="json, or png: the card on an image"),
        ] = "json",
        spec: Annotated[
            Literal["v3", "v2"],
            QueryParameter(description="v3 (its V2 fields kept as they are), or v2"),
        ] = "v3",
    ) -> Response[bytes]:
        """The character as a Character Card: the image it came on, or a plain one, for PNG."""
        card, image = characters.character_card(user_id=user_id, character_id=character_id)
        as_spec: Spec = V3 if spec == "v3" else V2
        if as_format == "png":
            return Response(card_png(card, image or placeholder_png(), as_spec), media_type=PNG)
        return Response(card_json(card, as_spec), media_type=JSON)
