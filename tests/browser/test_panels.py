"""What she remembers and why she said it, and the store, in the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import create_character, send, shoot, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_why_did_she_say_that_shows_the_memory_she_recalled(page: Page) -> None:
    sign_up(page)
    create_character(page)
    send(page, "My cat is called Mochi.")
    send(page, "Do you remember what my cat is called?")
    expect(page.get_by_test_id("reply").last).to_contain_text("Mochi")

    opener = page.locator(".msg.character").last.get_by_test_id("why")
    opener.click()
    provenance = page.get_by_test_id("provenance")
    expect(provenance).to_be_visible()
    expect(provenance.get_by_test_id("provenance-take")).to_have_count(1)
    expect(provenance).to_contain_text("offline-persona")
    expect(provenance.get_by_test_id("provenance-memory")).to_contain_text("Mochi")
    expect(provenance).to_contain_text("Mood")
    shoot(page, "provenance")
    page.keyboard.press("Escape")
    expect(provenance).to_be_hidden()
    expect(opener).to_be_focused()


def test_a_forgotten_memory_is_gone_and_stays_gone(page: Page) -> None:
    sign_up(page)
    create_character(page)
    send(page, "My cat is called Mochi.")
    page.get_by_role("tab", name="Memories").click()
    memories = page.get_by_test_id("memories")
    expect(memories).to_contain_text("Mochi")
    expect(memories).to_contain_text("My cat is called Mochi.")  # its source
    shoot(page, "memories")

    memories.get_by_test_id("forget").first.click()
    expect(memories).not_to_contain_text("Mochi")
    page.reload()
    page.get_by_role("tab", name="Memories").click()
    expect(page.get_by_test_id("memories")).to_contain_text("No memories yet")


def test_gems_bought_in_the_sandbox_buy_an_item_she_then_wears(page: Page) -> None:
    sign_up(page)
    create_character(page)
    page.get_by_role("tab", name="Store").click()
    gems = page.get_by_test_id("gems")
    expect(gems).to_have_text("0")
    expect(page.get_by_test_id("store-item")).to_have_count(12)

    page.locator("[data-testid=gem-pack][data-pack-id=gems-100]").click()
    expect(gems).to_have_text("100")

    glasses = page.get_by_test_id("store-item").filter(has_text="Round glasses")
    glasses.get_by_test_id("buy").click()
    expect(gems).to_have_text("60")
    expect(glasses).to_have_attribute("data-owned", "true")

    glasses.get_by_test_id("equip").click()
    expect(glasses).to_have_attribute("data-equipped", "true")
    avatar = page.get_by_test_id("avatar")
    expect(avatar).to_have_attribute("data-equipped", "accessories")
    expect(avatar.locator("[data-item-look=glasses]")).to_be_visible()
    shoot(page, "store")

    # After a reload she still wears it, and the balance is the one paid down to.
    page.reload()
    page.get_by_role("tab", name="Store").click()
    expect(page.get_by_test_id("avatar")).to_have_attribute("data-equipped", "accessories")
    expect(page.get_by_test_id("gems")).to_have_text("60")
