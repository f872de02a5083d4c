"""structlog for every process: console on a terminal, JSON otherwise.

What users write and every secret stay out of the logs:

- the values of REDACTED_KEYS, and of any key naming a secret (a word of
  SECRET_WORDS: `access_token`, `jwt_secret`, `stripe_secret_key`), are replaced
  at any depth (dicts, lists and tuples inside the event), in our events and in
  the standard library's records (uvicorn, psycopg, litestar) alike, which go
  through the same processors;
- in any logged text, a record's formatted message included: the password of a
  URL (`postgresql://user:secret@host`), secret query parameters (`?token=…`,
  `&password=…`, `api_key=…`), the credentials of an `Authorization: Bearer …`
  or `Basic …` value, anything shaped like a JWT (`eyJ….….…`), and the values
  of secret or free-text keys written out as `"text": "…"` or `password=…`;
- tracebacks show code and messages but never local variables: Rich's console
  tracebacks would print `text='…'` of every frame otherwise.

`email` is redacted too: accounts are named by user id in logs. Never put
secrets in a log's event text or an exception message all the same: the
patterns above catch the usual shapes, not every shape.
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
        "api_key",
        "email",
        "message",
        "content",
        "reply",
    }
)
# A key with one of these words (split at `_`, `-` and `.`) names a secret.
SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "token", "secret", "authorization", "cookie"}
)
# A key ending so names a key, which is a secret; `tracking_key` or `idempotency_key` are not.
SECRET_KEY_SUFFIXES = ("api_key", "apikey", "cipher_key", "private_key", "secret_key")

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# Deeper than this an event is cut off rather than walked (and a cycle ends here).
MAX_DEPTH = 12

# scheme://user:password@host: the password goes, the rest stays readable.
_URL_PASSWORD = re.compile(r"(?P<start>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")
# ?token=…, &password=…, api_key=… in a query string: the value goes, the name stays.
_SECRET_PARAMETER = re.compile(
    r"(?P<start>[?&;][\w.-]*(?:token|password|passwd|secret|key|signature)=)[^&#\s\"'\\]*",
    re.IGNORECASE,
)
# The credentials of an Authorization value: Bearer, Basic, Token.
_CREDENTIALS = re.compile(
    r"(?P<start>\b(?:Bearer|Basic|Token)\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE
)
# Three base64url parts, the first a JSON object: a JWT, whatever key it came under.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# "text": "…", 'password': '…', token=… inside a text (a dict's repr, a JSON frame):
# the value of a sensitive name goes, quoted up to its closing quote or unquoted up
# to a separator. A quoted value cut short (a truncated frame) goes to the end.
_SENSITIVE_NAMES = (
    r"[\w-]*(?:password|passwd|token|secret|authorization|cookie|api_key|cipher_key)"
    r"|text|content|reply|message|transcript|email"
)
_NAMED_VALUE = re.compile(
    r"(?P<start>(?P<quote>[\"']?)\b(?:" + _SENSITIVE_NAMES + r")(?P=quote)\s*[:=]\s*)"
    rf"(?!{re.escape(REDACTED)})"
    r"(?:\"(?:[^\"\\]|\\.)*(?:\"|$)|'(?:[^'\\]|\\.)*(?:'|$)|[^\s,;&}\])\"']+)",
    re.IGNORECASE,
)

# Keys structlog uses for its own bookkeeping; they hold records and tracebacks, not data.
_INTERNAL_KEYS = frozenset({"exc_info", "_record", "_from_structlog"})


def is_sensitive(key: Any) -> bool:
    """Whether a key's value must never reach a log line."""
    if not isinstance(key, str):
        return False
    name = key.lower()
    if name in REDACTED_KEYS or name.endswith(SECRET_KEY_SUFFIXES):
        return True
    return not SECRET_WORDS.isdisjoint(re.split(r"[_.-]", name))


def scrub(text: str) -> str:
    """`text` without the secrets and free text of the shapes it is known to hold them in."""
    text = _URL_PASSWORD.sub(rf"\g<start>{REDACTED}@", text)
    text = _SECRET_PARAMETER.sub(rf"\g<start>{REDACTED}", text)
    text = _CREDENTIALS.sub(rf"\g<start>{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _NAMED_VALUE.sub(rf"\g<start>{REDACTED}", text)


def redact(value: Any, depth: int = 0) -> Any:
    """`value` with sensitive keys' values replaced and every text scrubbed, at any depth."""
    if depth > MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, dict):
        return {
            key: REDACTED if is_sensitive(key) else redact(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, depth + 1) for item in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in event_dict.items():
        if key in _INTERNAL_KEYS:
            continue
        event_dict[key] = REDACTED if is_sensitive(key) else redact(value, 1)
    return event_dict


class ScrubbedRecords(logging.Filter):
    """Standard-library records with their message scrubbed before any handler sees them.

    uvicorn logs `"WebSocket /api/v1/ws?token=…" [accepted]` from format arguments;
    formatting them here means no handler, ours or another, ever holds the token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format
            message = f"{record.msg} {record.args}"
        record.msg, record.args = scrub(message), None
        return True


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
    # On the handler, every record that reaches it, from any logger, is scrubbed;
    # on the loggers, so is a record that another handler of theirs would write.
    scrubbed = ScrubbedRecords()
    handler.addFilter(scrubbed)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for logger in (root, *(logging.getLogger(name) for name in UVICORN_LOGGERS)):
        logger.filters[:] = [f for f in logger.filters if not isinstance(f, ScrubbedRecords)]
        logger.addFilter(scrubbed)
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
