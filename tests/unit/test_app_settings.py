"""COMPANION_* settings become the library's environment in one place, and fail clearly."""

from __future__ import annotations

import base64
import multiprocessing
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from pydantic import ValidationError

from companion.app import settings as settings_module
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


def test_production_needs_a_jwt_secret_of_at_least_32_bytes(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(ValueError, match="COMPANION_JWT_SECRET must be at least 32 bytes"):
        settings(tmp_path, env="production", cipher_key=key, jwt_secret="s" * 31)
    assert settings(tmp_path, env="production", cipher_key=key, jwt_secret="s" * 32)
    assert settings(tmp_path, env="production", cipher_key=key, jwt_secret="秘" * 11)  # 33 bytes
    assert settings(tmp_path, env="development", jwt_secret="short")


def test_the_local_jwt_secret_is_made_once_and_kept(tmp_path: Path) -> None:
    first = settings(tmp_path).resolved_jwt_secret()
    assert settings(tmp_path).resolved_jwt_secret() == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0
    assert settings(tmp_path, jwt_secret="given").resolved_jwt_secret() == "given"


def test_the_local_jwt_secret_file_is_never_readable_by_others(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        settings(tmp_path).resolved_jwt_secret()
    finally:
        os.umask(previous)
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def _resolve_after(barrier: Barrier, data_dir: Path, results: multiprocessing.Queue[str]) -> None:
    barrier.wait()
    results.put(settings(data_dir).resolved_jwt_secret())


@pytest.mark.slow
def test_processes_starting_together_agree_on_one_local_jwt_secret(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(4)
    results: multiprocessing.Queue[str] = spawn.Queue()
    processes = [
        spawn.Process(target=_resolve_after, args=(barrier, tmp_path, results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    secrets = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join()

    assert len(set(secrets)) == 1
    assert (tmp_path / "jwt-secret").read_text().strip() == secrets[0]


def test_threads_starting_together_agree_on_one_local_jwt_secret(tmp_path: Path) -> None:
    # Many rounds: each one is a fresh race for the file between eight threads.
    for round_ in range(40):
        data_dir = tmp_path / str(round_)
        start = threading.Barrier(8)

        def resolve(_: int, data_dir: Path = data_dir, start: threading.Barrier = start) -> str:
            start.wait()
            return settings(data_dir).resolved_jwt_secret()

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert len(set(pool.map(resolve, range(8)))) == 1


def test_a_secret_file_being_written_is_read_once_complete(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    path.touch(mode=0o600)  # another process created it and is about to write
    with ThreadPoolExecutor(max_workers=1) as pool:
        resolved = pool.submit(settings(tmp_path).resolved_jwt_secret)
        time.sleep(0.2)
        path.write_text("the-other-process-secret\n")

        assert resolved.result() == "the-other-process-secret"


def test_a_secret_file_left_empty_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_module, "JWT_SECRET_FILE_PATIENCE_SECONDS", 0.05)
    (tmp_path / "jwt-secret").touch(mode=0o600)

    with pytest.raises(SettingsError, match="jwt-secret is empty or incomplete: delete it"):
        settings(tmp_path).resolved_jwt_secret()


def test_a_secret_file_from_before_the_end_marker_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    path.write_text("an-older-secret")
    path.chmod(0o600)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))

    assert settings(tmp_path).resolved_jwt_secret() == "an-older-secret"


def test_the_model_deadlines_default_to_30_and_10_seconds_and_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = settings(tmp_path)
    assert (defaults.llm_deadline_seconds, defaults.llm_first_token_seconds) == (30.0, 10.0)

    monkeypatch.setenv("COMPANION_LLM_DEADLINE_SECONDS", "12.5")
    monkeypatch.setenv("COMPANION_LLM_FIRST_TOKEN_SECONDS", "4")
    given = settings(tmp_path)
    assert (given.llm_deadline_seconds, given.llm_first_token_seconds) == (12.5, 4.0)


@pytest.mark.parametrize("name", ["llm_deadline_seconds", "llm_first_token_seconds"])
@pytest.mark.parametrize("value", [0, -1])
def test_the_model_deadlines_must_be_positive(tmp_path: Path, name: str, value: float) -> None:
    with pytest.raises(ValidationError) as raised:
        settings(tmp_path, **{name: value})
    assert [error["loc"] for error in raised.value.errors()] == [(name,)]


def test_a_first_token_time_beyond_the_deadline_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        settings(tmp_path, llm_deadline_seconds=5, llm_first_token_seconds=6)
    (error,) = raised.value.errors()
    assert "COMPANION_LLM_FIRST_TOKEN_SECONDS (6)" in error["msg"]
    assert "COMPANION_LLM_DEADLINE_SECONDS (5)" in error["msg"]
    assert "\n" not in error["msg"]
    assert settings(tmp_path, llm_deadline_seconds=5, llm_first_token_seconds=5)


def test_a_deadline_alone_below_the_default_first_token_time_bounds_both(tmp_path: Path) -> None:
    short = settings(tmp_path, llm_deadline_seconds=4)
    assert (short.llm_deadline_seconds, short.llm_first_token_seconds) == (4.0, 4.0)
