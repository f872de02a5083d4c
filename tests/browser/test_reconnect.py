"""A dropped connection: the client goes offline, comes back and catches up."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import create_character, send, shoot, sign_up
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_after_a_dropped_connection_the_client_resumes_what_it_missed(
    page: Page, server: Server
) -> None:
    sign_up(page)
    create_character(page)
    send(page, "Good morning!")
    connection = page.get_by_test_id("connection")

    page.context.set_offline(True)
    expect(connection).to_have_attribute("data-state", "offline")

    # While the page is away, a turn is made on another device of the same user.
    token = page.evaluate("localStorage.getItem('companion.token')")
    character_id = page.evaluate("localStorage.getItem('companion.character')")
    answer = httpx.post(
        f"{server.base}/api/v1/characters/{character_id}/messages",
        headers={"Authorization": f"Bearer {token}"},
        json={"text": "Sent from my phone while the laptop was offline"},
        timeout=10,
    )
    assert answer.status_code == 200
    missed_reply = answer.json()["reply"]["message_id"]
    shoot(page, "offline")

    page.context.set_offline(False)
    expect(connection).to_have_attribute("data-state", "connected")
    expect(page.locator(".msg.user .bubble").last).to_have_text(
        "Sent from my phone while the laptop was offline"
    )
    expect(page.locator(f".msg.character[data-message-id='{missed_reply}']")).to_have_count(1)
    expect(page.locator("#chat-log")).to_have_attribute("data-resumed", "2")

    # And the connection works again for new messages.
    send(page, "I'm back!")
    expect(page.get_by_test_id("reply")).to_have_count(3)
