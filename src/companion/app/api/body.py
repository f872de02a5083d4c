"""Reading a JSON request body strictly, so that no body a client sends can reach a 500.

The framework's decoder recurses without bound (`[` × 1,000 was a
RecursionError), keeps the last of duplicate keys, accepts lone surrogates and
reads any Content-Type as JSON. Here a body must be `application/json` (or
`+json`) in UTF-8, nest at most `MAX_DEPTH` deep, hold finite numbers of at most
`MAX_INTEGER_DIGITS` digits, name each key once and carry no lone surrogate and
no NUL character; each breach is a 4xx of the one error shape.

Request models (`schemas.Body`) are then validated with JSON's types and
pydantic's strict mode: `"20"` is not a number, `true` is not a number, while
UUIDs and datetimes come as JSON strings. `20.0` is an integer, as JSON Schema
says; `20.5` is not.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

import pydantic
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.plugins.pydantic import PydanticInitPlugin
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from litestar.types import Empty

from companion.app.api.errors import VALIDATION_FAILED, field_error
from companion.app.api.schemas import Body

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 19  # what fits in a signed 64-bit integer

_LARGEST_EXACT_INTEGER = 2**53
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadBody(HTTPException):
    """A body the server refuses before any handler sees it; `code` says why."""

    def __init__(self, status_code: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail=detail, status_code=status_code, extra={"code": code, **extra})


def _bad(code: str, detail: str) -> BadBody:
    return BadBody(HTTP_400_BAD_REQUEST, code, detail)


def is_json_media_type(content_type: str, options: dict[str, str]) -> bool:
    media = content_type.lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        return False
    return options.get("charset", "utf-8").lower() in ("utf-8", "utf8")


def _depth(raw: bytes) -> int:
    brackets = _STRING.sub(b'""', raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(_DEPTH_STEP[b] for b in brackets), default=0)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _bad("duplicate_key", f"the key {twice!r} appears more than once")
    return result


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _bad("number_out_of_range", "an integer is too large")
    return int(text)


def _float(text: str) -> float | int:
    value = float(text)
    if not math.isfinite(value):
        raise _bad("number_out_of_range", "a number is too large")
    # JSON Schema's integer includes 20.0, so an integer field accepts it; a
    # number field takes the int as the same number.
    if value.is_integer() and abs(value) < _LARGEST_EXACT_INTEGER:
        return int(value)
    return value


def _constant(text: str) -> Any:
    raise _bad("malformed_json", f"{text} is not JSON")


def _check_strings(value: Any) -> None:
    """No lone surrogate (400) and no NUL (422) in any key or string, without recursion."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                _check_string(path or "body", key)
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_string(path or "body", item)


def _check_string(field: str, text: str) -> None:
    if _SURROGATE.search(text):
        raise _bad("invalid_encoding", "a string holds a lone UTF-16 surrogate")
    if "\x00" in text:
        raise BadBody(
            HTTP_422_UNPROCESSABLE_ENTITY,
            VALIDATION_FAILED,
            "validation failed",
            errors=[field_error(field, "must not contain NUL characters")],
        )


def decode_json_body(raw: bytes) -> Any:
    """The JSON value of a body, or a `BadBody` that says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("invalid_encoding", "the body is not valid UTF-8") from None
    if _depth(raw) > MAX_DEPTH:
        raise _bad("too_deep", f"the body nests deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as error:
        raise _bad("malformed_json", f"the body is not JSON: {error.msg}") from None
    except RecursionError:
        raise _bad("too_deep", "the body nests too deeply") from None
    _check_strings(value)
    return value


class StrictJSONRequest(Request[Any, Any, Any]):
    """A request whose JSON body is read by `decode_json_body`, and only as JSON."""

    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        content_type, options = self.content_type
        if not is_json_media_type(content_type, options):
            raise BadBody(
                HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json in UTF-8",
            )
        self._json = decode_json_body(await self.body())
        return self._json


def _is_request_body(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, Body)


def _decode_request_body(model: type[Body], value: Any) -> Body:
    # Through JSON text again so that pydantic's strict mode judges JSON's types:
    # a UUID or a datetime is a string there, a number is never a string.
    from litestar._signature.types import ExtendedMsgSpecValidationError

    try:
        return model.model_validate_json(json.dumps(value), strict=True)
    except pydantic.ValidationError as error:
        raise ExtendedMsgSpecValidationError(
            errors=[dict(e) for e in error.errors(include_input=False, include_url=False)]
        ) from error


class StrictJSONPydanticPlugin(PydanticInitPlugin):
    """The Pydantic plugin, with request bodies validated strictly as JSON."""

    @classmethod
    def decoders(
        cls, validate_strict: bool = False
    ) -> list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]]:
        return [(_is_request_body, _decode_request_body), *super().decoders(validate_strict)]
