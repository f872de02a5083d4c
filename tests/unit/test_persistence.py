"""The database URL becomes the library's environment, options and all."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.adapters.postgres_store import PostgresStoreFactory
from companion.app.persistence import store_for
from companion.app.settings import Settings, SettingsError


def settings(tmp_path: Path, url: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, database_url=url)  # type: ignore[call-arg]


def test_libpq_options_of_the_url_reach_the_driver(tmp_path: Path) -> None:
    url = "postgresql://app@db.internal/companion?sslmode=require&application_name=api&schema=t"
    store = store_for(settings(tmp_path, url))
    assert store.event_env["POSTGRES_SCHEMA"] == "t"
    factory = PostgresStoreFactory(store.event_env)  # the pool opens lazily: no connection
    try:
        kwargs = factory.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        assert kwargs["sslmode"] == "require"
        assert kwargs["application_name"] == "api"
        assert kwargs["connect_timeout"] == "2"
        assert "schema" not in kwargs
        assert factory.datastore.pool.timeout == 2.0
    finally:
        factory.datastore.close()


def test_an_unknown_url_option_stops_the_process_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="sslmod"):
        store_for(settings(tmp_path, "postgresql://app@db/companion?sslmod=require"))


def test_the_password_never_shows_in_the_url_named_to_people(tmp_path: Path) -> None:
    store = store_for(settings(tmp_path, "postgresql://app:s3cret@db:6543/companion"))
    assert "s3cret" not in store.url
    assert store.url.startswith("postgresql://")
