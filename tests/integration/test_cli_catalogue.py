"""`companion catalogue list|add|reprice|delist` against SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from companion.app.bootstrap import bootstrap
from companion.app.settings import Settings
from companion.domain.catalogue import DEFAULT_CATALOGUE, YEN_PER_GEM
from companion.domain.identity import catalog_item_id
from tests.support.cli import cli, ok

pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store that a first start has created (and so given the default catalogue)."""
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path}/c.db"
    else:
        database_url = request.getfixturevalue("postgres_url")
    bootstrap(Settings(database_url=database_url, catalogue_defaults=True)).close()
    return database_url


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path}/missing.db"
    assert cli(missing, "catalogue", "list").exit_code == 1
    assert not (tmp_path / "missing.db").exists()


def listed(url: str, *args: str) -> dict[str, dict[str, Any]]:
    lines = ok(url, "catalogue", "list", "--json", *args).stdout.splitlines()
    return {row["slug"]: row for row in map(json.loads, lines)}


def test_add_reprice_delist_and_every_past_price(url: str) -> None:
    added = ok(
        url,
        "catalogue",
        "add",
        "cat-ears",
        "--name",
        "Cat ears",
        "--category",
        "accessories",
        "--rarity",
        "epic",
        "--gems",
        "300",
        "--premium",
        "--effect",
        '{"type": "new_animation", "parameters": {"animation": "ear_twitch"}}',
    )
    assert added.stdout.strip() == str(catalog_item_id("cat-ears"))
    items = listed(url)
    assert set(items) == {d.slug for d in DEFAULT_CATALOGUE} | {"cat-ears"}
    assert items["cat-ears"]["price_gems"] == 300
    assert items["cat-ears"]["price_yen"] == 300 * YEN_PER_GEM
    assert items["cat-ears"]["is_premium"] is True

    before_reprice = datetime.now(UTC).isoformat()
    ok(url, "catalogue", "reprice", "cat-ears", "--gems", "250", "--yen", "480")
    assert (listed(url)["cat-ears"]["price_gems"], listed(url)["cat-ears"]["price_yen"]) == (
        250,
        480,
    )
    assert listed(url, "--at", before_reprice)["cat-ears"]["price_gems"] == 300

    before_delist = datetime.now(UTC).isoformat()
    ok(url, "catalogue", "delist", str(catalog_item_id("cat-ears")))
    assert "cat-ears" not in listed(url)
    assert listed(url, "--all")["cat-ears"]["on_sale"] is False
    assert listed(url, "--at", before_delist)["cat-ears"]["on_sale"] is True
    assert "cat-ears" not in listed(url, "--at", "2000-01-01")


def test_the_table_shows_prices_in_gems_and_yen(url: str) -> None:
    ok(url, "catalogue", "add", "beret", "--name", "Beret", "--category", "hair", "--gems", "70")
    table = ok(url, "catalogue", "list").stdout
    assert "Beret" in table
    assert "140" in table


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["add", "Bad Slug", "--name", "x", "--category", "hair", "--gems", "10"], 2),
        (["add", "hat", "--name", "x", "--category", "shoes", "--gems", "10"], 2),
        (["add", "hat", "--name", "x", "--category", "hair", "--gems", "0"], 2),
        (["add", "hat", "--name", "x", "--category", "hair", "--gems", "-5"], 2),
        (["add", "hat", "--name", "x", "--category", "hair", "--gems", "5", "--effect", "{"], 2),
        (["add", "short-bob", "--name", "x", "--category", "hair", "--gems", "10"], 1),
        (["reprice", "no-such-item", "--gems", "10"], 1),
        (["reprice", "short-bob"], 2),
        (["reprice", "short-bob", "--gems", "0"], 2),
        (["delist", "no-such-item"], 1),
        (["list", "--at", "yesterday"], 2),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(
    url: str, args: list[str], code: int
) -> None:
    before = listed(url)
    result = cli(url, "catalogue", *args)
    assert result.exit_code == code, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        result.stderr.strip().splitlines()[-1]
    ], result.stderr
    assert listed(url) == before
