"""structlog for every process: console on a terminal, JSON otherwise.

What users write and every secret stay out of the logs:

- the values of REDACTED_KEYS are replaced at any depth (dicts, lists and tuples
  inside the event), in our events and in the standard library's records
  (uvicorn, psycopg, litestar) alike, which go through the same processors;
- the password of a URL (`postgresql://user:secret@host`) in any logged text;
- tracebacks show code and messages but never local variables: Rich's console
  tracebacks would print `text='…'` of every frame otherwise.

`email` is redacted too: accounts are named by user id in logs. Messages passed
as format arguments to the standard library (`log.info("%s", text)`) and the
text of exceptions are not inspected: never put secrets in either.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

REDACTED = "[redacted]"

# Keys whose values never reach a log line, compared without case: secrets, what
# users write or say, and what identifies a person.
REDACTED_KEYS = frozenset(
    {
        "password",
        "password_hash",
        "new_password",
        "text",
        "transcript",
        "access_token",
        "refresh_token",
        "token",
        "authorization",
        "cookie",
        "set-cookie",
        "cipher_key",
        "jwt_secret",
        "secret",
        "email",
    }
)

# Deeper than this an event is cut off rather than walked (and a cycle ends here).
MAX_DEPTH = 12

# scheme://user:password@host: the password goes, the rest stays readable.
_URL_PASSWORD = re.compile(r"(?P<start>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")

# Keys structlog uses for its own bookkeeping; they hold records and tracebacks, not data.
_INTERNAL_KEYS = frozenset({"exc_info", "_record", "_from_structlog"})


def redact(value: Any, depth: int = 0) -> Any:
    """`value` with sensitive keys' values replaced, at any depth."""
    if depth > MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and key.lower() in REDACTED_KEYS
            else redact(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, depth + 1) for item in value]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\g<start>{REDACTED}@", value)
    return value


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in event_dict.items():
        if key in _INTERNAL_KEYS:
            continue
        event_dict[key] = REDACTED if key.lower() in REDACTED_KEYS else redact(value, 1)
    return event_dict


def _console_tracebacks(colors: bool) -> Any:
    try:
        import rich  # noqa: F401 - only whether it is installed
    except ImportError:
        return structlog.dev.plain_traceback
    return structlog.dev.RichTracebackFormatter(
        show_locals=False, color_system="truecolor" if colors else None
    )


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    colors = sys.stderr.isatty()
    # The traceback becomes text (JSON) before redaction, so a URL password in an
    # exception message is caught too; format_exc_info never prints locals.
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if json_output else structlog.dev.set_exc_info,
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=_console_tracebacks(colors)
        )
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard module (uvicorn, psycopg, httpx) come
    # out in the same format, JSON or console, through the same processors.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
