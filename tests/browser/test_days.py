"""The character's own days, shown in the Days panel as the scheduler lives them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, expect

from companion.domain.daily_life import draw
from tests.support.api import PERSONA
from tests.support.browser import WAIT_MS, shoot, sign_up
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED = "browser-days"


@pytest.fixture(scope="module")
def lively_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose daily-life scheduler makes a round every half second."""
    server = Server(Path(tmp_path_factory.mktemp("browser-days")))
    server.env["COMPANION_DAILY_LIFE_INTERVAL"] = "0.5"
    server.env["COMPANION_DAILY_LIFE_SEED"] = SEED
    server.start()
    yield server
    server.stop()


def test_a_day_she_lived_appears_in_the_days_panel(browser: Browser, lively_server: Server) -> None:
    context = browser.new_context(base_url=lively_server.base, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        sign_up(page)
        token = page.evaluate("localStorage.getItem('companion.token')")
        headers = {"Authorization": f"Bearer {token}"}
        today = datetime.now(UTC).date()
        # Days are drawn, the same for the same character, date and seed: make
        # characters until one of them has an event today.
        for _ in range(40):
            created = httpx.post(
                f"{lively_server.base}/api/v1/characters", headers=headers, json=PERSONA, timeout=10
            )
            character_id = created.json()["character_id"]
            event = draw(UUID(character_id), today, SEED, occupation=PERSONA.get("occupation"))
            if event is not None:
                break
        assert event is not None

        page.reload()
        page.get_by_test_id("character-select").select_option(character_id)
        page.get_by_role("tab", name="Days").click()
        day = page.get_by_test_id("day").first
        expect(day).to_contain_text(event.title)
        expect(day).to_have_attribute("data-day", today.isoformat())
        shoot(page, "days")
    finally:
        context.close()
