"""What users write and every secret stay out of log lines, tracebacks included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from companion.app.logging import REDACTED, UVICORN_LOGGERS, configure_logging

FORMATS = ["console", "json"]
MESSAGE = "私の秘密のメッセージ message-text-secret"
PASSWORD = "hunter2-password-secret"
TOKEN = "eyJ-token-secret"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Each test configures logging onto its captured stderr; the previous setup comes back."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = [root, *(logging.getLogger(name) for name in UVICORN_LOGGERS)]
    filters = [logger.filters[:] for logger in loggers]
    yield
    structlog.reset_defaults()
    structlog.configure(**structlog_config)
    root.handlers[:], root.level = handlers, level
    for logger, kept in zip(loggers, filters, strict=True):
        logger.filters[:] = kept


def logged(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err, "nothing was logged"
    return err


def failing_handler(text: str, password: str) -> None:
    user_input = {"text": text, "password": password}
    raise ValueError(f"the handler failed on {len(user_input)} fields")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_secret_is_redacted_at_any_depth(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", fmt)

    structlog.get_logger("test").info(
        "request.received",
        body={"message": {"text": MESSAGE}, "credentials": [{"password": PASSWORD}]},
        headers=("accept", {"Authorization": f"Bearer {TOKEN}"}),
        access_token=TOKEN,
        characters=3,
    )

    err = logged(capsys)
    for secret in (MESSAGE, PASSWORD, TOKEN):
        assert secret not in err
    assert REDACTED in err
    assert "request.received" in err
    assert "accept" in err
    assert "characters" in err


def test_a_json_line_keeps_its_shape_with_secrets_replaced(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")

    structlog.get_logger("test").info(
        "user.updated", changes=[{"email": "aoi@example.org", "timezone": "Asia/Tokyo"}]
    )

    line = json.loads(logged(capsys))
    assert line["changes"] == [{"email": REDACTED, "timezone": "Asia/Tokyo"}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_traceback_shows_where_it_failed_but_no_local_values(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)
    log = structlog.get_logger("test")

    try:
        failing_handler(text=MESSAGE, password=PASSWORD)
    except ValueError:
        log.exception("request.failed")

    err = logged(capsys)
    assert "the handler failed on 2 fields" in err
    assert "failing_handler" in err
    assert MESSAGE not in err
    assert PASSWORD not in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_library_traceback_shows_no_local_values_either(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)

    try:
        failing_handler(text=MESSAGE, password=PASSWORD)
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    err = logged(capsys)
    assert "Exception in ASGI application" in err
    assert "the handler failed on 2 fields" in err
    assert "failing_handler" in err
    assert MESSAGE not in err
    assert PASSWORD not in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_password_in_a_url_is_redacted_from_any_text(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)

    logging.getLogger("psycopg").error(
        "error connecting in %r: postgresql://app:%s@db.internal:5432/companion", "pool-1", PASSWORD
    )
    structlog.get_logger("test").info("store.opened", url=f"redis://:{PASSWORD}@cache:6379/0")

    err = logged(capsys)
    assert PASSWORD not in err
    assert f"postgresql://app:{REDACTED}@db.internal:5432/companion" in err
    assert f"redis://:{REDACTED}@cache:6379/0" in err


def test_an_event_that_contains_itself_is_still_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    looping: dict[str, Any] = {"password": PASSWORD}
    looping["again"] = looping

    structlog.get_logger("test").info("odd.event", looping=looping)

    err = logged(capsys)
    assert "odd.event" in err
    assert PASSWORD not in err


JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhaWtvIn0.c2lnbmF0dXJlLXNlY3JldA"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_token_of_a_socket_handshake_is_redacted_from_uvicorns_line(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)

    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "127.0.0.1:50412", f"/api/v1/ws?token={JWT}&v=2"
    )

    err = logged(capsys)
    assert JWT.split(".")[2] not in err
    assert f"/api/v1/ws?token={REDACTED}&v=2" in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_credentials_and_jwts_are_redacted_from_any_text(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)

    logging.getLogger("httpx").info("sent Authorization: Bearer %s", TOKEN)
    logging.getLogger("litestar").warning("rejected GET /x?api_key=%s&page=2", PASSWORD)
    structlog.get_logger("test").info("token.seen", note=f"the client sent {JWT} again")

    err = logged(capsys)
    for secret in (TOKEN, PASSWORD, JWT.split(".")[2]):
        assert secret not in err
    assert "/x?api_key=" in err
    assert "page=2" in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_what_users_write_is_redacted_under_any_of_its_names_and_inside_a_frame(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)
    frame = json.dumps({"type": "chat_message", "payload": {"text": MESSAGE}}, ensure_ascii=False)

    structlog.get_logger("test").info(
        "turn.done",
        message=MESSAGE,
        content=[MESSAGE],
        reply={"reply": MESSAGE},
        openai_api_key=PASSWORD,
        stripe_secret_key=PASSWORD,
        message_id="m-1",
        prompt_tokens=812,
    )
    logging.getLogger("websockets.server").info("< TEXT %r [%d bytes]", frame, len(frame))
    logging.getLogger("litestar").info("body was %s", {"password": PASSWORD, "name": "x"})

    err = logged(capsys)
    assert MESSAGE not in err
    assert PASSWORD not in err
    assert "m-1" in err
    assert "812" in err
    assert "chat_message" in err


def test_a_library_record_is_scrubbed_for_every_handler_not_only_ours() -> None:
    configure_logging("INFO", "json")
    records: list[logging.LogRecord] = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    other = Kept()
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(other)
    try:
        uvicorn_error.info('"WebSocket %s" [accepted]', f"/api/v1/ws?token={JWT}")
    finally:
        uvicorn_error.removeHandler(other)

    (record,) = records
    assert record.getMessage() == f'"WebSocket /api/v1/ws?token={REDACTED}" [accepted]'
