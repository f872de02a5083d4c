"""Labels, keyboard and a phone-sized screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import SCREENSHOTS, WAIT_MS, create_character, send, sign_up
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNNAMED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter(el => el.offsetParent !== null)
    .filter(el => !(el.labels && el.labels.length))
    .filter(el => !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
    .filter(el => !(el.tagName === "BUTTON" && el.textContent.trim()))
    .map(el => el.outerHTML.slice(0, 80))"""


def test_every_control_has_a_name_and_the_panels_work_from_the_keyboard(page: Page) -> None:
    page.goto("/")
    assert page.evaluate(UNNAMED_CONTROLS) == []
    sign_up(page)
    create_character(page)
    send(page, "Hello there!")
    assert page.evaluate(UNNAMED_CONTROLS) == []

    characters = page.get_by_role("tab", name="Characters")
    characters.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Memories")).to_be_focused()
    expect(page.get_by_test_id("memories")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("store-item").first).to_be_visible()
    page.keyboard.press("Home")
    expect(characters).to_have_attribute("aria-selected", "true")

    # Enter sends; the reply's "why" opens and closes from the keyboard.
    page.get_by_test_id("message-input").focus()
    page.keyboard.type("How are you?")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("reply")).to_have_count(2)
    why = page.locator(".msg.character").last.get_by_test_id("why")
    why.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("provenance")).to_be_visible()
    page.keyboard.press("Escape")
    expect(why).to_be_focused()


def test_the_client_fits_a_phone_screen(browser: Browser, server: Server) -> None:
    context = browser.new_context(
        base_url=server.base,
        locale="ja-JP",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        sign_up(page)
        create_character(page, "ひな")
        send(page, "おはよう！今日もよろしくね")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Her face and the message box are both on screen, nothing wider than it.
        expect(page.get_by_test_id("avatar")).to_be_in_viewport()
        expect(page.get_by_test_id("message-input")).to_be_in_viewport()
        page.screenshot(path=str(SCREENSHOTS / "phone-ja.png"))
    finally:
        context.close()
