"""Small checks shared by the aggregates' commands."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from companion.domain.errors import InvalidInput
from companion.domain.limits import MAX_TIMEZONE_CHARS


def text(field: str, value: str, *, min_length: int = 1, max_length: int) -> str:
    """Strip a piece of text and check its length in characters."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    stripped = value.strip()
    if len(stripped) < min_length:
        raise InvalidInput(field, f"must have at least {min_length} character(s)")
    if len(stripped) > max_length:
        raise InvalidInput(field, f"must have at most {max_length} characters")
    if "\x00" in stripped:
        raise InvalidInput(field, "must not contain NUL characters")
    if not stripped.isascii():
        try:
            stripped.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (half an emoji, possible in JSON) cannot be stored.
            raise InvalidInput(field, "must be valid Unicode text") from None
    return stripped


def optional_text(field: str, value: str | None, *, max_length: int) -> str | None:
    if value is None:
        return None
    stripped = text(field, value, min_length=0, max_length=max_length)
    return stripped or None


def unit_interval(field: str, value: float) -> float:
    """A weight in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, "must be a number")
    number = float(value)
    if not 0.0 <= number <= 1.0:  # also rejects NaN
        raise InvalidInput(field, "must be between 0 and 1")
    return number


@lru_cache(maxsize=512)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def timezone(value: str) -> str:
    """An IANA time zone name such as Asia/Tokyo."""
    name = text("timezone", value, max_length=MAX_TIMEZONE_CHARS)
    if not _known_zone(name):
        raise InvalidInput("timezone", "is not a known IANA time zone")
    return name
