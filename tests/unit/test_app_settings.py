"""COMPANION_* settings become the library's environment in one place, and fail clearly."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from companion.app.persistence import store_for
from companion.app.settings import Settings, SettingsError


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg,arg-type]


def test_the_embedded_default_is_sqlite_under_the_data_folder(tmp_path: Path) -> None:
    store = store_for(settings(tmp_path))
    assert store.backend == "sqlite"
    assert store.event_env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert store.event_env["SQLITE_DBNAME"] == str(tmp_path / "companion.db")
    assert store.views_sqlite == str(tmp_path / "companion-projections.db")


def test_sqlite_urls_read_relative_and_absolute_paths(tmp_path: Path) -> None:
    absolute = store_for(settings(tmp_path, database_url=f"sqlite:///{tmp_path}/x/e.db"))
    assert absolute.event_env["SQLITE_DBNAME"] == f"{tmp_path}/x/e.db"
    assert not (tmp_path / "x").exists(), "deciding where the store is creates nothing"


def test_a_postgres_url_becomes_the_librarys_variables(tmp_path: Path) -> None:
    url = "postgresql://app:s%40cret@db.internal:6543/companion?schema=tenant"
    env = store_for(settings(tmp_path, database_url=url, postgres_pool_size=7)).event_env
    assert env["PERSISTENCE_MODULE"] == "companion.adapters.postgres_store:PostgresStoreFactory"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.internal",
        "6543",
        "companion",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("app", "s@cret")
    assert env["POSTGRES_SCHEMA"] == "tenant"
    assert env["POSTGRES_POOL_SIZE"] == "7"


def test_memory_stores_never_share_their_read_models(tmp_path: Path) -> None:
    first = store_for(settings(tmp_path, database_url="memory://"))
    second = store_for(settings(tmp_path, database_url="memory://"))
    assert first.event_env["PERSISTENCE_MODULE"] == "eventsourcing.popo"
    assert first.views_sqlite != second.views_sqlite


def test_an_unknown_scheme_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="sqlite://, postgresql:// or memory://"):
        store_for(settings(tmp_path, database_url="mysql://x/y"))


def test_the_cipher_key_is_an_aes_256_key(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    env = store_for(settings(tmp_path, cipher_key=key)).event_env
    assert env["CIPHER_TOPIC"] == "eventsourcing.cipher:AESCipher"
    assert env["CIPHER_KEY"] == key
    short = base64.b64encode(os.urandom(16)).decode()
    with pytest.raises(SettingsError, match="32 bytes"):
        store_for(settings(tmp_path, cipher_key=short))
    with pytest.raises(SettingsError, match="base64"):
        store_for(settings(tmp_path, cipher_key="not base64!"))


def test_production_needs_both_secrets(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(ValueError, match="COMPANION_CIPHER_KEY and COMPANION_JWT_SECRET"):
        settings(tmp_path, env="production")
    with pytest.raises(ValueError, match="COMPANION_JWT_SECRET"):
        settings(tmp_path, env="production", cipher_key=key)
    assert settings(tmp_path, env="production", cipher_key=key, jwt_secret="s" * 40)


def test_the_local_jwt_secret_is_made_once_and_kept(tmp_path: Path) -> None:
    first = settings(tmp_path).resolved_jwt_secret()
    assert settings(tmp_path).resolved_jwt_secret() == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0
    assert settings(tmp_path, jwt_secret="given").resolved_jwt_secret() == "given"
