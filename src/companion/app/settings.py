"""Settings from the environment (prefix COMPANION_, `.env` supported)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from companion.domain.prompt import MIN_PROMPT_TOKENS

MIN_JWT_SECRET_BYTES = 32
JWT_SECRET_FILE_PATIENCE_SECONDS = 2.0
"""How long a process waits for another one to finish writing the local secret file."""


class SettingsError(ValueError):
    """A setting is missing or wrong; the message says which and what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPANION_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = Field(
        default="",
        description="sqlite:///path (default ./var/companion.db), postgresql://…, or memory://",
    )
    cipher_key: SecretStr | None = Field(
        default=None, description="base64 of a 32-byte AES-256-GCM key for events at rest"
    )
    compress_events: bool = False
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    redis_url: str | None = None
    read_database_url: str | None = Field(
        default=None,
        description="postgresql://… of a replica the API reads the read models from;"
        " unset: the primary",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    read_your_writes_timeout: float = Field(default=3.0, gt=0)
    projection_batch_size: int = Field(default=500, ge=1, le=10_000)
    projection_poll_interval: float = Field(default=0.5, gt=0)
    projection_heartbeat_interval: float = Field(
        default=5.0, gt=0, description="seconds between a projection worker's heartbeats"
    )
    projection_worker_stale_seconds: float = Field(
        default=30.0,
        gt=0,
        description="/ready (without embedded projections) fails when no worker was seen"
        " for this long while events wait",
    )
    embedded_projections: bool = Field(
        default=True, description="run the projection runner inside the API process"
    )
    postgres_pool_size: int = Field(default=5, ge=1)
    postgres_pool_timeout: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="seconds a request waits for a pooled connection before it is answered 503",
    )
    postgres_connect_timeout: int = Field(
        default=2, ge=1, le=60, description="seconds a new database connection may take"
    )
    aggregate_cache_size: int = Field(
        default=10_000, ge=0, description="aggregates kept in memory per process (0: none)"
    )
    catalogue_defaults: bool = Field(
        default=True,
        description="list the default store catalogue at first start (items already listed stay)",
    )
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)
    password_hashing_concurrency: int = Field(
        default=2,
        ge=1,
        description="Argon2 hashes or checks at once per process (each holds argon2_memory_cost)",
    )
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(
        default=15 * 60, ge=1, description="the window over which failed logins are counted"
    )
    daily_life: bool = Field(
        default=True,
        description="characters live their days (events drawn by a scheduler in the worker)",
    )
    daily_life_interval: float = Field(
        default=60.0, gt=0, description="seconds between the daily-life scheduler's rounds"
    )
    daily_life_seed: str = Field(
        default="companion", max_length=200, description="the seed of every character's days"
    )
    payments: Literal["sandbox", "stripe"] = Field(
        default="sandbox", description="sandbox (checkouts complete locally) or stripe"
    )
    stripe_secret_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("stripe_secret_key", "STRIPE_SECRET_KEY")
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("stripe_webhook_secret", "STRIPE_WEBHOOK_SECRET"),
    )
    stripe_price_premium: str | None = Field(
        default=None, description="the Stripe price id of the premium subscription"
    )
    stripe_price_ultimate: str | None = Field(
        default=None, description="the Stripe price id of the ultimate subscription"
    )
    stripe_api_base: str | None = Field(
        default=None, description="another address for Stripe's API (a local stand-in in tests)"
    )

    redis_prefix: str | None = Field(
        default=None,
        max_length=100,
        description="the prefix of every Redis key and pub/sub channel of this deployment;"
        " unset: companion:<database name>: (two deployments on one Redis never meet)",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For"
        " and X-Forwarded-Proto are believed; unset: none, the peer is the client",
    )
    password_change_max_failures_per_account: int = Field(
        default=5, ge=1, description="wrong current passwords per account within the window"
    )
    registrations_per_address: int = Field(
        default=5, ge=1, description="sign-ups from one client address within the window"
    )
    registration_window_seconds: int = Field(
        default=60 * 60, ge=1, description="the window over which sign-ups are counted"
    )
    checkouts_per_account: int = Field(
        default=10, ge=1, description="checkouts a user may start within the window"
    )
    checkouts_per_address: int = Field(
        default=30, ge=1, description="checkouts one client address may start within the window"
    )
    checkout_window_seconds: int = Field(
        default=60 * 60, ge=1, description="the window over which checkouts are counted"
    )
    ws_max_sockets_per_user: int = Field(
        default=10, ge=1, description="open WebSockets one user may hold (across processes)"
    )
    ws_auth_recheck_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="how often an open WebSocket checks again that its token still holds"
        " (a revocation announced on the user's channel closes it at once)",
    )
    session_reconnect_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="a user's sockets closed and reopened within this long are one session",
    )

    ws_max_frame_bytes: int = Field(
        default=64 * 1024, ge=1024, description="the largest WebSocket frame a client may send"
    )
    ws_idle_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a WebSocket with no frame from its client for this long is closed",
    )
    shutdown_drain_seconds: float = Field(
        default=20.0,
        ge=0,
        le=3600,
        description="at SIGTERM, how long open WebSockets may finish their turns before"
        " the process exits",
    )
    messages_per_minute: int | None = Field(
        default=None,
        ge=1,
        description="messages (and regenerated replies) a user may send a minute, whatever"
        " the tier; unset: the tier's (free 10, premium 30, ultimate 60)",
    )
    memory_capacity: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="memories kept per user × character, whatever the tier (past it the least"
        " valuable go); unset: the tier's (free 100, premium 1000, ultimate 10000)",
    )
    messages_per_day: int | None = Field(
        default=None,
        ge=1,
        description="messages a user may send a day (their calendar day), whatever the tier;"
        " unset: the tier's (free 100, premium 1000, ultimate no limit)",
    )

    llm: Literal["offline", "openai"] = Field(
        default="offline",
        description="offline (the embedded persona responder) or openai (any OpenAI-compatible"
        " server)",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("openai_api_key", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None,
        description="an OpenAI-compatible server (Ollama, vLLM, llama.cpp), e.g."
        " http://127.0.0.1:11434/v1; no key is needed then",
    )
    openai_model: str = Field(default="gpt-4o-mini", min_length=1, max_length=200)
    llm_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="connect / between-bytes timeout of a model call (at most the deadline)",
    )
    llm_retries: int = Field(
        default=3, ge=0, le=10, description="attempts after the first on timeouts, 429 and 5xx"
    )
    llm_deadline_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="the longest the model may take over a reply, all attempts and the waits"
        " between them included; past it the reply is the in-character fallback",
    )
    llm_first_token_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="the longest an attempt may take to its first token before it is"
        " abandoned (and retried while the deadline allows); at most the deadline",
    )
    prompt_budget_tokens: int = Field(
        default=3000, ge=MIN_PROMPT_TOKENS, description="the most (estimated) tokens of a prompt"
    )
    model_context_tokens: int = Field(
        default=8192, ge=MIN_PROMPT_TOKENS, description="the model's context window, in tokens"
    )
    reply_max_tokens: int = Field(
        default=512, ge=16, description="the most tokens a reply may take (max_tokens)"
    )
    memory_recall_k: int = Field(
        default=5, ge=0, le=50, description="the most memories retrieval brings to a prompt"
    )
    memory_model_extraction: bool = Field(
        default=True,
        description="with COMPANION_LLM=openai, the model also finds memories in each message"
        " (after the reply, on its own worker); the rules always do",
    )
    memory_extraction_timeout_seconds: float = Field(
        default=20.0, gt=0, le=600, description="the longest a model memory extraction may take"
    )
    openai_embedding_model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="with COMPANION_LLM=openai, an /embeddings model (e.g."
        " text-embedding-3-small): memories get vectors after the reply and retrieval mixes"
        " their similarity to the message with the lexical score; unset: lexical only",
    )
    memory_embedding_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="the longest the turn waits for the message's vector; past it, or on"
        " any failure, that turn's retrieval is lexical",
    )
    memory_embedding_min_similarity: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="the least cosine similarity that relates a memory to the message by its"
        " vector (embedding models give nearly every pair of texts a positive one)",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="the bearer token a Prometheus scraper presents to GET /metrics;"
        " unset: /metrics answers 404",
    )
    projection_leadership_retry_seconds: float = Field(
        default=2.0,
        gt=0,
        description="seconds between a projection worker's tries to take read models that"
        " have no leader (PostgreSQL, several workers); a dead worker's move within about this",
    )

    @model_validator(mode="after")
    def _defaults_and_production_rules(self) -> Settings:
        if self.model_context_tokens - self.reply_max_tokens < MIN_PROMPT_TOKENS:
            raise SettingsError(
                "COMPANION_MODEL_CONTEXT_TOKENS must exceed COMPANION_REPLY_MAX_TOKENS by at"
                f" least {MIN_PROMPT_TOKENS} tokens, to leave room for a prompt"
            )
        if self.llm_first_token_seconds > self.llm_deadline_seconds:
            if "llm_first_token_seconds" in self.model_fields_set:
                raise SettingsError(
                    f"COMPANION_LLM_FIRST_TOKEN_SECONDS ({self.llm_first_token_seconds:g}) must"
                    " not exceed COMPANION_LLM_DEADLINE_SECONDS"
                    f" ({self.llm_deadline_seconds:g})"
                )
            # Only the deadline was set, below the default first-token time: it bounds both.
            self.llm_first_token_seconds = self.llm_deadline_seconds
        # Every entry point (serve, the CLI, a worker) resolves the data directory the
        # same way, once, so they agree on where the embedded store is.
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'companion.db'}"
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("COMPANION_CIPHER_KEY", self.cipher_key),
                    ("COMPANION_JWT_SECRET", self.jwt_secret),
                )
                if value is None
            ]
            if missing:
                raise SettingsError(f"production needs {' and '.join(missing)} to be set")
            _check_jwt_secret_length(self.jwt_secret)
        return self

    def resolved_redis_prefix(self) -> str:
        """The Redis prefix of this deployment: the setting, or one named after the database."""
        if self.redis_prefix:
            return self.redis_prefix
        return f"companion:{database_name(self.database_url)}:"

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or one generated once and kept under the data folder.

        The file is created exclusively, readable by its owner only from the first
        moment; processes starting together agree on it: those that lose the race
        to create it read the winner's, once it is complete.
        """
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt-secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_secret_file(path)
        with os.fdopen(fd, "w") as file:
            # The newline marks the file complete for readers that find it mid-write.
            file.write(secret + "\n")
            file.flush()
            os.fsync(file.fileno())
        return secret


def _check_jwt_secret_length(jwt_secret: SecretStr | None) -> None:
    size = len((jwt_secret.get_secret_value() if jwt_secret else "").encode("utf-8"))
    if size < MIN_JWT_SECRET_BYTES:
        raise SettingsError(
            f"COMPANION_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes in production"
            f" (it has {size}); make one with:"
            " python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


def _read_secret_file(path: Path) -> str:
    deadline = time.monotonic() + JWT_SECRET_FILE_PATIENCE_SECONDS
    while True:
        content = path.read_text()
        # Files written before the newline marker existed are complete once written.
        if content.endswith("\n") or (content.strip() and _written_long_ago(path)):
            return content.strip()
        if time.monotonic() > deadline:
            raise SettingsError(
                f"{path} is empty or incomplete: delete it to make a new one,"
                " or set COMPANION_JWT_SECRET"
            )
        time.sleep(0.01)


def _written_long_ago(path: Path) -> bool:
    return time.time() - path.stat().st_mtime > JWT_SECRET_FILE_PATIENCE_SECONDS


def database_name(url: str) -> str:
    """A short name of the store a URL points at: a PostgreSQL database or a SQLite file."""
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        name = parts.path.lstrip("/") or (parts.username or "postgres")
    elif parts.scheme == "sqlite":
        name = Path(parts.path).stem or "memory"
    else:
        name = parts.scheme or "default"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:64] or "default"
