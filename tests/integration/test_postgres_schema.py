"""Two deployments in one PostgreSQL database, kept apart by ?schema=."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from companion.app.bootstrap import bootstrap
from companion.domain.characters import Persona
from tests.support.api import PERSONA
from tests.support.settings import cheap_settings

pytestmark = pytest.mark.postgres


def test_each_schema_holds_its_own_events_and_read_models(
    tmp_path: Path, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tenant_a")
        conn.execute("CREATE SCHEMA tenant_b")
    counts = {}
    for schema, characters in (("tenant_a", 2), ("tenant_b", 1)):
        companion = bootstrap(
            cheap_settings(
                database_url=f"{postgres_url}?schema={schema}",
                data_dir=tmp_path,
            )
        )
        try:
            user_id = companion.accounts.register(
                email="same@example.com", password="0123456789ab", name="S", nickname="S"
            )
            for _ in range(characters):
                companion.characters.create_character(
                    user_id=user_id, persona=Persona.parse(**PERSONA)
                )
            companion.runner.run_once()
            counts[schema] = len(
                companion.read_models.characters.owned_by(companion.views, user_id)
            )
            tables = set(companion.read_models.characters.tables)
        finally:
            companion.close()
    assert counts == {"tenant_a": 2, "tenant_b": 1}
    with psycopg.connect(postgres_url) as conn:
        found = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_name = ANY(%s)",
            (list(tables),),
        ).fetchall()
    assert sorted(found) == [("tenant_a", t) for t in tables] + [("tenant_b", t) for t in tables]
