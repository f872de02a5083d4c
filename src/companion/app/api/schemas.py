"""Request and response bodies. Shapes only: the domain checks the rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from companion.domain.catalogue import GEM_PACKS
from companion.domain.limits import (
    MAX_AGE,
    MAX_BACKSTORY_CHARS,
    MAX_CLIENT_MESSAGE_ID_CHARS,
    MAX_CYCLE_DAYS,
    MAX_EMAIL_CHARS,
    MAX_HOBBIES,
    MAX_HOBBY_CHARS,
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_NICKNAME_CHARS,
    MAX_OCCUPATION_CHARS,
    MAX_PASSWORD_CHARS,
    MAX_TIMEZONE_CHARS,
    MIN_AGE,
    MIN_CYCLE_DAYS,
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
    fallback: bool = Field(
        description="true when the model failed and the character's in-character fallback"
        " answered instead"
    )


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
    alternatives: int = Field(
        default=1, ge=1, description="how many alternatives a regenerated reply has; 1 otherwise"
    )
    chosen_alternative: int = Field(
        default=1, ge=1, description="which alternative `text` is, 1 being the first take"
    )


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


# -- the store, gems and inventories ------------------------------------------------

StoreCategory = Literal["hair", "outfit", "accessories", "expressions"]


class ItemEffectOut(BaseModel):
    type: Literal["stat_boost", "new_animation", "voice_pack", "expression_set"]
    parameters: dict[str, JsonValue]
    duration_ms: int | None = Field(description="how long it lasts once bought; null: for good")


class StoreItemOut(BaseModel):
    item_id: UUID
    name: str
    category: StoreCategory
    rarity: Literal["common", "rare", "epic", "legendary"]
    price_gems: int
    price_yen: int
    is_premium: bool = Field(description="needs a premium or ultimate subscription")
    min_level: int = Field(description="the relationship level a character needs for it")
    effects: list[ItemEffectOut]


class StoreItems(BaseModel):
    items: list[StoreItemOut]


class PurchaseBody(Body):
    """The price is the catalogue's: a client never names one."""

    item_id: UUID
    character_id: UUID
    idempotency_key: str = Field(
        min_length=1, max_length=MAX_IDEMPOTENCY_KEY_CHARS, pattern=NOT_BLANK
    )


class PurchaseOut(BaseModel):
    purchase_id: UUID
    gems: int = Field(description="the balance right after this purchase")


class ActiveEffectOut(BaseModel):
    type: str
    parameters: dict[str, JsonValue]
    expires_at: datetime | None = Field(description="null: the effect is permanent")


class InventoryItemOut(BaseModel):
    item_id: UUID
    character_id: UUID
    purchased_at: datetime
    effects: list[ActiveEffectOut] = Field(description="the item's effects still in force")


class InventoryOut(BaseModel):
    gems: int
    owed: int = Field(description="refunded gems already spent; purchases wait until 0")
    items: list[InventoryItemOut]
    equipped: dict[str, dict[str, UUID]] = Field(
        description="per character id: slot → item id of what it wears"
    )


class LedgerEntryOut(BaseModel):
    at: datetime
    kind: str = Field(description="gem_pack, grant, subscription_bonus, purchase, refund, …")
    gems: int = Field(description="signed: what this entry added to the balance")
    balance: int
    reference: str


class LedgerOut(BaseModel):
    entries: list[LedgerEntryOut]


class GemPackOut(BaseModel):
    pack_id: str
    gems: int
    price_yen: int


class GemPacks(BaseModel):
    packs: list[GemPackOut]
    yen_per_gem: int = Field(description="the exchange rate of one gem")


class EquipmentBody(Body):
    slot: StoreCategory
    item_id: UUID


# -- payments and subscriptions -----------------------------------------------------


class CheckoutBody(Body):
    pack_id: str = Field(
        min_length=1,
        max_length=64,
        description="a pack of GET /api/v1/gems/packs",
        json_schema_extra={"enum": [pack.pack_id for pack in GEM_PACKS]},
    )


class CheckoutOut(BaseModel):
    checkout_id: str = Field(description="the provider's payment id")
    client_secret: str | None = Field(
        default=None, description="for Stripe.js to confirm the payment (Stripe only)"
    )
    url: str | None = Field(default=None, description="a hosted page to pay on, if any")
    sandbox: bool = Field(description="true: the sandbox completed it, the gems are credited")


class SubscriptionBody(Body):
    tier: Literal["premium", "ultimate"]


class SubscriptionOut(BaseModel):
    tier: str
    status: str = Field(description="the provider's: active, trialing, past_due, canceled…")
    subscription_id: str | None
    cancel_at_period_end: bool
    current_period_end: datetime | None
    entitled_tier: Literal["free", "premium", "ultimate"] = Field(
        description="the tier it grants now"
    )
    client_secret: str | None = Field(
        default=None, description="to confirm the first payment with Stripe.js (Stripe only)"
    )


class WebhookOut(BaseModel):
    received: bool = True
    outcome: Literal["applied", "duplicate", "ignored", "rejected"]


# -- emotion and avatar ------------------------------------------------------------


class FactorOut(BaseModel):
    type: str = Field(
        description="interaction, personality, time, decay, weather, cycle or daily_event"
    )
    influence: float = Field(description="mood points this factor moved")
    description: str


class EmotionOut(BaseModel):
    mood: int = Field(ge=-100, le=100)
    baseline: int = Field(description="the mood the persona returns to when nothing happens")
    factors: list[FactorOut] = Field(description="what moved the mood at its last change")
    cause: str | None = Field(description="message or daily_event; null before any change")
    expression: str
    parameters: dict[str, float] = Field(description="Live2D-style parameters of the face")
    updated_at: datetime


class MoodPointOut(BaseModel):
    at: datetime
    mood: int
    expression: str


class MoodHistoryOut(BaseModel):
    points: list[MoodPointOut] = Field(description="oldest first")


class AvatarOut(BaseModel):
    expression: str
    parameters: dict[str, float] = Field(
        description="eye_open, eye_smile, brow_angle, mouth_form, mouth_open, cheek_blush"
    )
    transition_ms: int
    easing: str
    equipped: dict[str, UUID] = Field(description="slot → item id")


class CycleBody(Body):
    start: date = Field(description="the first day of a cycle", examples=["2026-05-01"])
    length_days: int = Field(default=28, ge=MIN_CYCLE_DAYS, le=MAX_CYCLE_DAYS)


class CycleOut(BaseModel):
    start: date
    length_days: int


class ChoiceBody(Body):
    alternative: int = Field(ge=1, le=1_000_000, description="1 is the reply's first take")


class AlternativeOut(BaseModel):
    """One alternative of a reply: the one just made, or the one just chosen."""

    message_id: UUID
    alternative: int = Field(description="this alternative's number, 1 being the first take")
    alternatives: int = Field(description="how many alternatives the reply has")
    text: str
    fallback: bool = Field(
        default=False, description="this take is the in-character fallback: the model failed"
    )
