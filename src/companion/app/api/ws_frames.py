"""The WebSocket's frames: `{id, type, timestamp, payload}`, what clients may send, errors.

Error frames carry the codes of the REST error contract (errors.CODES), so a
client handles a refused frame as it handles a refused request. A frame is read
as strictly as a REST body (body.decode_json_body: nesting depth checked before
parsing, each key once, numbers in range, no lone surrogate or NUL), so no frame
can reach a RecursionError.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from companion.app import errors as app_errors
from companion.app.api.body import BadBody, decode_json_body
from companion.app.api.errors import VALIDATION_FAILED
from companion.app.message_limits import RateLimited
from companion.domain import errors as domain_errors
from companion.domain.daily_life import DailyLife
from companion.domain.emotion import EmotionState
from companion.domain.expression import TRANSITION_MS, parameters
from companion.domain.limits import MAX_CLIENT_MESSAGE_ID_CHARS, MAX_MESSAGE_CHARS, MAX_SLOT_CHARS

log = structlog.get_logger(__name__)

LOG_EVERY_SECONDS = 60.0
"""A socket logs at most one refused frame and one failed frame this often."""

Frame = tuple[str, dict[str, Any]]
"""A server frame to send, as its type and payload."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ChatMessageIn(_Payload):
    character_id: UUID = Field(strict=False)
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    client_message_id: str | None = Field(
        default=None, min_length=1, max_length=MAX_CLIENT_MESSAGE_ID_CHARS
    )


class MessageReadIn(_Payload):
    character_id: UUID = Field(strict=False)
    message_id: UUID = Field(strict=False)


class AvatarCustomizationIn(_Payload):
    character_id: UUID = Field(strict=False)
    slot: str = Field(min_length=1, max_length=MAX_SLOT_CHARS)
    item_id: UUID = Field(strict=False)


class RegenerateIn(_Payload):
    character_id: UUID = Field(strict=False)
    message_id: UUID = Field(strict=False)


class ResumeIn(_Payload):
    character_id: UUID = Field(strict=False)
    last_message_id: UUID | None = Field(default=None, strict=False)


class HeartbeatIn(_Payload):
    pass


CLIENT_PAYLOADS: dict[str, type[_Payload]] = {
    "chat_message": ChatMessageIn,
    "message_read": MessageReadIn,
    "avatar_customization": AvatarCustomizationIn,
    "regenerate": RegenerateIn,
    "resume": ResumeIn,
    "heartbeat": HeartbeatIn,
}


class FrameRefused(Exception):
    """A client frame that cannot be served; answered with an error frame."""

    def __init__(self, code: str, detail: str, in_reply_to: str | None = None, **extra: Any):
        super().__init__(detail)
        self.code, self.detail, self.in_reply_to, self.extra = code, detail, in_reply_to, extra


def frame(kind: str, payload: dict[str, Any]) -> str:
    """A server frame as the text sent on the socket."""
    return json.dumps(
        {
            "id": str(uuid4()),
            "type": kind,
            "timestamp": datetime.now(UTC).isoformat(),
            "payload": payload,
        },
        default=str,
        ensure_ascii=False,
    )


def error_frame(code: str, detail: str, in_reply_to: str | None, **extra: Any) -> str:
    return frame("error", {"code": code, "detail": detail, "in_reply_to": in_reply_to, **extra})


def parse(raw: str | bytes, max_bytes: int) -> tuple[str, str | None, _Payload]:
    """A client frame's type, id and checked payload; FrameRefused when it is not one."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise FrameRefused("body_too_large", f"a frame may hold at most {max_bytes} bytes")
    try:
        encoded = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    except UnicodeEncodeError:
        raise FrameRefused("invalid_encoding", "the frame is not valid UTF-8") from None
    try:
        data = decode_json_body(encoded)
    except BadBody as bad:
        extra = dict(bad.extra) if isinstance(bad.extra, dict) else {}
        code = extra.pop("code", "bad_request")
        raise FrameRefused(code, bad.detail.replace("body", "frame"), **extra) from None
    if not isinstance(data, dict):
        raise FrameRefused("bad_request", "a frame is a JSON object {id, type, payload}")
    frame_id = data.get("id")
    in_reply_to = frame_id if isinstance(frame_id, str) else None
    kind = data.get("type")
    schema = CLIENT_PAYLOADS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise FrameRefused("bad_request", f"unknown frame type {kind!r}", in_reply_to)
    payload = data.get("payload", {})
    try:
        return kind, in_reply_to, schema.model_validate(payload)  # type: ignore[return-value]
    except ValidationError as invalid:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "payload", "message": e["msg"]}
            for e in invalid.errors()
        ]
        raise FrameRefused(
            VALIDATION_FAILED, "the payload is not valid", in_reply_to, errors=fields
        ) from None


class FrameLog:
    """One socket's log lines about refused and failed frames: at most one of each kind
    every LOG_EVERY_SECONDS, each saying how many were left out since the last one."""

    def __init__(self, every_seconds: float = LOG_EVERY_SECONDS) -> None:
        self.every_seconds = every_seconds
        self._next: dict[str, float] = {}
        self._left_out: dict[str, int] = {}

    def refused(self, refused: FrameRefused) -> None:
        """A frame the protocol refuses (not JSON, too deep, too large, …): no traceback."""
        left_out = self._due("refused")
        if left_out is not None:
            log.info("ws.frame_refused", code=refused.code, left_out=left_out)

    def failed(self, error: Exception) -> None:
        """A frame that failed for no known reason: a bug, logged with its traceback."""
        left_out = self._due("failed")
        if left_out is not None:
            log.error("ws.frame_failed", exc_info=error, left_out=left_out)

    def _due(self, kind: str) -> int | None:
        now = time.monotonic()
        if now < self._next.get(kind, 0.0):
            self._left_out[kind] = self._left_out.get(kind, 0) + 1
            return None
        self._next[kind] = now + self.every_seconds
        return self._left_out.pop(kind, 0)


def refusal(exc: Exception, in_reply_to: str | None) -> FrameRefused | None:
    """The error frame of a use case's error, with the REST contract's code; None if a bug."""
    if isinstance(exc, domain_errors.InvalidInput):
        return FrameRefused(VALIDATION_FAILED, exc.detail, in_reply_to)
    if isinstance(exc, RateLimited | app_errors.ConversationBusy):
        return FrameRefused(exc.code, exc.detail, in_reply_to, retry_after=exc.retry_after)
    if isinstance(exc, domain_errors.DomainError | app_errors.ApplicationError):
        return FrameRefused(exc.code, exc.detail, in_reply_to)
    return None


def emotion_payload(
    character_id: UUID, state: EmotionState, before: tuple[int, str] | None
) -> dict[str, Any]:
    """An `emotion_change` frame's payload: the emotion as GET …/emotion shows it, and before."""
    expression = state.expression.name
    return {
        "character_id": character_id,
        "mood": state.mood,
        "baseline": state.baseline,
        "factors": [factor.to_state() for factor in state.factors],
        "cause": state.last_cause,
        "expression": expression,
        "parameters": parameters(expression, state.mood),
        "updated_at": None if state.updated_at is None else state.updated_at.isoformat(),
        "before": None if before is None else {"mood": before[0], "expression": before[1]},
    }


def mood_frames(
    character_id: UUID, state: EmotionState, before: tuple[int, str] | None
) -> list[Frame]:
    """What a mood change sends: emotion_change (when mood or expression moved), mood_update
    and avatar_expression."""
    expression = state.expression.name
    frames: list[Frame] = []
    if before != (state.mood, expression):
        frames.append(("emotion_change", emotion_payload(character_id, state, before)))
    frames.append(
        (
            "mood_update",
            {
                "character_id": character_id,
                "mood": state.mood,
                "factors": [factor.to_state() for factor in state.factors],
            },
        )
    )
    frames.append(
        (
            "avatar_expression",
            {
                "character_id": character_id,
                "expression": expression,
                "parameters": parameters(expression, state.mood),
                "transition_ms": TRANSITION_MS,
            },
        )
    )
    return frames


def day_frames(
    life: DailyLife, state: EmotionState | None, before: tuple[int, str] | None
) -> list[Frame]:
    """What a day's event in a character's life sends: daily_event, then its mood's frames."""
    event = (
        "daily_event",
        {
            "character_id": life.character_id,
            "day": life.day,
            "kind": life.kind,
            "title": life.title,
            "description": life.description,
            "description_ja": life.description_ja,
            "season": life.season,
            "mood_impact": life.mood_impact,
            "occurred_at": life.occurred_at.isoformat(),
        },
    )
    if state is None:
        return [event]
    return [event, *mood_frames(life.character_id, state, before)]
