"""Request and response bodies. Shapes only: the domain checks the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from companion.domain.limits import (
    MAX_AGE,
    MAX_BACKSTORY_CHARS,
    MAX_CLIENT_MESSAGE_ID_CHARS,
    MAX_EMAIL_CHARS,
    MAX_HOBBIES,
    MAX_HOBBY_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_NICKNAME_CHARS,
    MAX_OCCUPATION_CHARS,
    MAX_PASSWORD_CHARS,
    MAX_TIMEZONE_CHARS,
    MIN_AGE,
    MIN_PASSWORD_CHARS,
)

# What the domain checks, said in the schema too so that the document tells
# clients (and the fuzzer) which values are valid: text is stripped and must
# not be blank; an email has one @, no spaces and a dot in its domain.
# Whitespace as Python's str.strip() sees it; JSON Schema's (ECMA) \s and
# pydantic's (Rust) leave out some of these, so they are named.
SPACE = r"\s\x1c-\x1f\x85"
NOT_BLANK = rf"[^{SPACE}]"
EMAIL = rf"^[{SPACE}]*[^@{SPACE}]+@[^@{SPACE}]+\.[^@{SPACE}]+[{SPACE}]*$"
TIMEZONES: list[JsonValue] = [*sorted(available_timezones())]


Hobby = Annotated[str, Field(min_length=1, max_length=MAX_HOBBY_CHARS, pattern=NOT_BLANK)]


class Body(BaseModel):
    """A request body: JSON's own types, strictly (see companion.app.api.body)."""

    model_config = ConfigDict(extra="forbid")


class RegisterBody(Body):
    email: str = Field(max_length=MAX_EMAIL_CHARS, pattern=EMAIL, examples=["aiko@example.com"])
    password: str = Field(min_length=MIN_PASSWORD_CHARS, max_length=MAX_PASSWORD_CHARS)
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=NOT_BLANK)
    nickname: str = Field(min_length=1, max_length=MAX_NICKNAME_CHARS, pattern=NOT_BLANK)
    timezone: str = Field(
        default="UTC",
        max_length=MAX_TIMEZONE_CHARS,
        examples=["Asia/Tokyo"],
        description="an IANA time zone",
        json_schema_extra={"enum": TIMEZONES},
    )


class Registered(BaseModel):
    user_id: UUID


class TokenBody(Body):
    email: str = Field(max_length=MAX_EMAIL_CHARS)
    password: str = Field(max_length=MAX_PASSWORD_CHARS)


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Me(BaseModel):
    user_id: UUID
    email: str
    name: str
    nickname: str
    timezone: str
    subscription_tier: str
    gems: int


class PersonalityBody(Body):
    kindness: float = Field(ge=0, le=1)
    humor: float = Field(ge=0, le=1)
    seriousness: float = Field(ge=0, le=1)
    activeness: float = Field(ge=0, le=1)
    empathy: float = Field(ge=0, le=1)


class CharacterBody(Body):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=NOT_BLANK)
    nickname: str = Field(min_length=1, max_length=MAX_NICKNAME_CHARS, pattern=NOT_BLANK)
    gender: Literal["boyfriend", "girlfriend"]
    age: int = Field(ge=MIN_AGE, le=MAX_AGE)
    occupation: str | None = Field(default=None, max_length=MAX_OCCUPATION_CHARS)
    hobbies: list[Hobby] = Field(default_factory=list, max_length=MAX_HOBBIES)
    personality: PersonalityBody
    backstory: str | None = Field(default=None, max_length=MAX_BACKSTORY_CHARS)


class CharacterCreated(BaseModel):
    character_id: UUID


class Personality(BaseModel):
    kindness: float
    humor: float
    seriousness: float
    activeness: float
    empathy: float


class CharacterOut(BaseModel):
    character_id: UUID
    name: str
    nickname: str
    gender: str
    age: int
    occupation: str | None
    hobbies: list[str]
    personality: Personality
    backstory: str | None
    relationship_level: int
    created_at: datetime
    updated_at: datetime


class CharacterList(BaseModel):
    characters: list[CharacterOut]


class MessageBody(Body):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, pattern=NOT_BLANK)
    client_message_id: str | None = Field(
        default=None, min_length=1, max_length=MAX_CLIENT_MESSAGE_ID_CHARS, pattern=NOT_BLANK
    )


class Reply(BaseModel):
    message_id: UUID
    text: str


class TurnOut(BaseModel):
    message_id: UUID
    reply: Reply
    mood: int | None = Field(
        default=None, description="the character's mood, -100..100; null until it has one"
    )
    expression: str | None = Field(
        default=None, description="the avatar's expression; null until the character has one"
    )


class MessageOut(BaseModel):
    message_id: UUID
    sender: Literal["user", "character"]
    text: str
    created_at: datetime


class MessagePageOut(BaseModel):
    messages: list[MessageOut]
    next_before: UUID | None


class Health(BaseModel):
    status: Literal["ok"]


class ProjectionState(BaseModel):
    position: int
    head: int
    lag: int


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]
    projections: dict[str, ProjectionState]


class FieldError(BaseModel):
    field: str = Field(description="the field's path in the body or the parameter's name")
    message: str


class ErrorExtra(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="stable, machine-readable; see the README's error table")
    errors: list[FieldError] | None = Field(
        default=None, description="on a 422 (`validation_failed`): every field that is wrong"
    )


class ErrorBody(BaseModel):
    """Every error answer, the framework's own included."""

    status_code: int
    detail: str = Field(description="for people; may change")
    extra: ErrorExtra


class PasswordChangeBody(Body):
    current_password: str = Field(max_length=MAX_PASSWORD_CHARS)
    new_password: str = Field(min_length=MIN_PASSWORD_CHARS, max_length=MAX_PASSWORD_CHARS)
