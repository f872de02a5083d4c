"""Helpers of the browser tests: where chromium is, and the steps every test takes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path(os.environ.get("COMPANION_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct horse battery staple"
WAIT_MS = 15_000
"""How long an element may take to appear: a turn, a reconnect, a projection catching up."""


def shoot(page: Page, name: str) -> None:
    """A screenshot for people to look at, under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_up(page: Page, nickname: str = "Ace") -> str:
    email = f"browser-{uuid.uuid4().hex[:12]}@example.com"
    page.goto("/")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("nickname").fill(nickname)
    page.get_by_test_id("sign-up").click()
    expect(page.get_by_test_id("new-character")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return email


def create_character(page: Page, name: str = "Sakura") -> None:
    page.get_by_test_id("new-character").click()
    page.get_by_test_id("character-name").fill(name)
    page.get_by_test_id("create-character").click()
    expect(page.locator("#chat-title")).to_have_text(name)
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected")


def send(page: Page, text: str) -> None:
    """Sends a message and waits for her whole reply to it."""
    replies = page.get_by_test_id("reply")
    before = replies.count()
    page.get_by_test_id("message-input").fill(text)
    page.get_by_test_id("send").click()
    expect(replies).to_have_count(before + 1)
    expect(page.locator(".msg.character.streaming")).to_have_count(0)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, for one test module; missing, the test fails.

    Not for the whole session: Playwright's sync API runs an event loop in the
    thread while it is open, and later tests that run their own would find it.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium with scripts/browser.sh"
            " (apt-get install -y chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
