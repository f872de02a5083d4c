"""The one place where COMPANION_DATABASE_URL becomes the library's environment."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit
from uuid import uuid4

from companion.adapters.postgres_store import LIBPQ_OPTIONS
from companion.app.settings import Settings, SettingsError

POSTGRES_FACTORY = "companion.adapters.postgres_store:PostgresStoreFactory"
MAPPER = "companion.app.store_guard:GuardedMapper"

Backend = Literal["memory", "sqlite", "postgres"]


@dataclass(frozen=True)
class Store:
    """Where events and read models live, as decided from the database URL."""

    backend: Backend
    event_env: dict[str, str]
    # SQLite path (or in-memory URI) of the read models; None on PostgreSQL,
    # where read models share the event store's database.
    views_sqlite: str | None
    url: str
    """The database URL without its password, for messages to people."""
    sqlite_path: Path | None = None
    """The events file of a SQLite store (None on other backends)."""


def store_for(settings: Settings) -> Store:
    url = settings.database_url
    parts = urlsplit(url)
    env = _cipher_env(settings)
    env["MAPPER_TOPIC"] = MAPPER
    if settings.aggregate_cache_size:
        # The application's own cache (companion.app.aggregate_cache) reads nothing
        # when it loads an aggregate to change: the save's version check decides.
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
    if settings.compress_events:
        env["COMPRESSOR_TOPIC"] = "eventsourcing.compressor:ZlibCompressor"
    if parts.scheme == "memory":
        env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        # Each memory store is private to its application; its read models live in
        # an in-memory SQLite database named uniquely so two apps never share one.
        views = f"file:companion-views-{uuid4().hex}?mode=memory&cache=shared"
        return Store("memory", env, views, url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path.db and sqlite:////absolute/path.db, as SQLAlchemy reads
        # them. The path is made absolute so that every message names the real file.
        path = Path(unquote(url.removeprefix("sqlite:///")) or "companion.db")
        if not path.is_absolute():
            path = (Path.cwd() / path).resolve()
        env.update(
            PERSISTENCE_MODULE="eventsourcing.sqlite",
            SQLITE_DBNAME=str(path),
            SQLITE_LOCK_TIMEOUT="10",
        )
        views_path = path.with_name(path.stem + "-projections" + (path.suffix or ".db"))
        return Store("sqlite", env, str(views_path), f"sqlite:///{path}", path)
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        schema = query.pop("schema", None)
        unknown = sorted(set(query) - LIBPQ_OPTIONS)
        if unknown:
            raise SettingsError(
                f"COMPANION_DATABASE_URL has unknown option(s) {', '.join(unknown)}"
                f" (known: schema, {', '.join(sorted(LIBPQ_OPTIONS))})"
            )
        env.update(
            PERSISTENCE_MODULE=POSTGRES_FACTORY,
            POSTGRES_DBNAME=unquote(parts.path.lstrip("/")) or "companion",
            POSTGRES_HOST=parts.hostname or "127.0.0.1",
            POSTGRES_PORT=str(parts.port or 5432),
            POSTGRES_USER=unquote(parts.username or "postgres"),
            POSTGRES_PASSWORD=unquote(parts.password or ""),
            POSTGRES_POOL_SIZE=str(settings.postgres_pool_size),
            POSTGRES_MAX_OVERFLOW=str(settings.postgres_pool_size),
            POSTGRES_CONNECT_TIMEOUT=str(settings.postgres_connect_timeout),
            POSTGRES_POOL_TIMEOUT=str(settings.postgres_pool_timeout),
            POSTGRES_CONNECT_OPTIONS=urlencode(query),
            # A connection that died with the server (restart, failover) is found
            # before use instead of failing a request; measured at ~15 % of a save.
            POSTGRES_PRE_PING="y",
            POSTGRES_LOCK_TIMEOUT="5",
        )
        if schema:
            env["POSTGRES_SCHEMA"] = schema
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        return Store("postgres", env, None, shown)
    raise SettingsError(
        f"COMPANION_DATABASE_URL must start with sqlite://, postgresql:// or memory:// "
        f"(got {parts.scheme or 'nothing'}://)"
    )


def _cipher_env(settings: Settings) -> dict[str, str]:
    if settings.cipher_key is None:
        return {}
    key = settings.cipher_key.get_secret_value()
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SettingsError("COMPANION_CIPHER_KEY must be base64") from error
    if len(raw) != 32:
        raise SettingsError("COMPANION_CIPHER_KEY must decode to 32 bytes (AES-256-GCM)")
    return {"CIPHER_TOPIC": "eventsourcing.cipher:AESCipher", "CIPHER_KEY": key}
