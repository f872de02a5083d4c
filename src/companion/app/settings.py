"""Settings from the environment (prefix COMPANION_, `.env` supported)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    read_your_writes_timeout: float = Field(default=3.0, gt=0)
    projection_batch_size: int = Field(default=500, ge=1, le=10_000)
    projection_poll_interval: float = Field(default=0.5, gt=0)
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
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)

    @model_validator(mode="after")
    def _defaults_and_production_rules(self) -> Settings:
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
        return self

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or one generated once and kept under the data folder."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt-secret"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret)
        path.chmod(0o600)
        return secret
