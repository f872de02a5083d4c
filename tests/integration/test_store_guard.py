"""A process whose cipher settings do not fit the store stops before it touches the log."""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from companion.app.bootstrap import Companion, bootstrap
from companion.app.errors import StoreKeyMismatch, StoreUnreadable
from companion.app.settings import Settings
from companion.domain.errors import InvalidCredentials
from tests.support.companions import Companions

PASSWORD = "0123456789ab"


def new_key() -> SecretStr:
    return SecretStr(base64.b64encode(os.urandom(32)).decode())


def event_count(companion: Companion) -> int:
    return companion.application.recorder.max_notification_id() or 0


def write_some(settings: Settings) -> int:
    companion = bootstrap(settings)
    try:
        companion.accounts.register(
            email="keyed@example.com", password=PASSWORD, name="K", nickname="K"
        )
        return event_count(companion)
    finally:
        companion.close()


def reopen(settings: Settings, **changes: Any) -> Companion:
    return bootstrap(settings.model_copy(update=changes))


class StoreGuardContract:
    """The same story on every persistent backend."""

    companions: Companions

    @pytest.fixture(autouse=True)
    def _backend(self, companions: Companions) -> None:
        self.companions = companions

    def count_stored(self, settings: Settings) -> int:
        raise NotImplementedError

    def forget_marker(self, settings: Settings) -> None:
        raise NotImplementedError

    def corrupt_first_event(self, settings: Settings) -> None:
        raise NotImplementedError

    def test_an_encrypted_store_refuses_a_process_without_the_key(self) -> None:
        settings = self.companions.settings(cipher_key=new_key())
        written = write_some(settings)
        with pytest.raises(StoreKeyMismatch, match="COMPANION_CIPHER_KEY"):
            reopen(settings, cipher_key=None)
        assert self.count_stored(settings) == written

    def test_an_encrypted_store_refuses_another_key(self) -> None:
        settings = self.companions.settings(cipher_key=new_key())
        written = write_some(settings)
        with pytest.raises(StoreKeyMismatch, match="not the key"):
            reopen(settings, cipher_key=new_key())
        assert self.count_stored(settings) == written

    def test_a_plaintext_store_refuses_a_key(self) -> None:
        settings = self.companions.settings(cipher_key=None)
        written = write_some(settings)
        with pytest.raises(StoreKeyMismatch, match="not encrypted"):
            reopen(settings, cipher_key=new_key())
        assert self.count_stored(settings) == written

    def test_the_right_key_opens_the_store(self) -> None:
        key = new_key()
        settings = self.companions.settings(cipher_key=key)
        write_some(settings)
        companion = reopen(settings, cipher_key=key)
        try:
            user_id = companion.accounts.authenticate(
                email="keyed@example.com", password=PASSWORD
            ).user_id
            assert companion.accounts.user(user_id).name == "K"
        finally:
            companion.close()

    def test_a_store_written_before_the_record_is_judged_by_its_events(self) -> None:
        key = new_key()
        settings = self.companions.settings(cipher_key=key)
        written = write_some(settings)
        self.forget_marker(settings)
        with pytest.raises(StoreKeyMismatch, match="cannot be decoded"):
            reopen(settings, cipher_key=None)
        reopen(settings, cipher_key=key).close()  # records the encoding now
        with pytest.raises(StoreKeyMismatch, match="is encrypted"):
            reopen(settings, cipher_key=None)
        assert self.count_stored(settings) == written

    def test_an_undecodable_event_is_the_operators_problem_not_a_wrong_password(self) -> None:
        settings = self.companions.settings(cipher_key=new_key(), aggregate_cache_size=0)
        write_some(settings)
        companion = bootstrap(settings)
        try:
            self.corrupt_first_event(settings)
            with pytest.raises(StoreUnreadable) as raised:
                companion.accounts.authenticate(email="keyed@example.com", password=PASSWORD)
            assert not isinstance(raised.value, InvalidCredentials)
        finally:
            companion.close()


class TestSQLiteStoreGuard(StoreGuardContract):
    @pytest.fixture
    def companions(self, sqlite_companions: Companions) -> Companions:
        return sqlite_companions

    def _sql(self, settings: Settings, statement: str) -> list[Any]:
        path = settings.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            return connection.execute(statement).fetchall()

    def count_stored(self, settings: Settings) -> int:
        return int(self._sql(settings, "SELECT COUNT(*) FROM stored_events")[0][0])

    def forget_marker(self, settings: Settings) -> None:
        self._sql(settings, "DROP TABLE companion_store")

    def corrupt_first_event(self, settings: Settings) -> None:
        self._sql(
            settings,
            "UPDATE stored_events SET state = X'00112233445566778899aabbccddeeff0011223344'"
            " WHERE rowid = (SELECT MIN(rowid) FROM stored_events WHERE topic LIKE '%EmailClaim%')",
        )


@pytest.mark.postgres
class TestPostgresStoreGuard(StoreGuardContract):
    @pytest.fixture
    def companions(self, postgres_companions: Companions) -> Companions:
        return postgres_companions

    def _sql(self, settings: Settings, statement: str) -> Callable[[], list[Any]]:
        with psycopg.connect(settings.database_url, autocommit=True) as connection:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
        return lambda: rows

    def count_stored(self, settings: Settings) -> int:
        return int(self._sql(settings, "SELECT COUNT(*) FROM companion_events")()[0][0])

    def forget_marker(self, settings: Settings) -> None:
        self._sql(settings, "DROP TABLE companion_store")

    def corrupt_first_event(self, settings: Settings) -> None:
        self._sql(
            settings,
            "UPDATE companion_events SET state = '\\x00112233445566778899aabbccddeeff0011'::bytea"
            " WHERE notification_id = (SELECT MIN(notification_id) FROM companion_events"
            " WHERE topic LIKE '%EmailClaim%')",
        )
