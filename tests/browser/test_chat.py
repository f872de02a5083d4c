"""Chatting in the browser: streamed replies, typing, read receipts, swipes, the avatar."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.support.browser import WAIT_MS, create_character, send, shoot, sign_up
from tests.support.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


Frame = dict[str, Any]


def frames_of(page: Page) -> tuple[list[Frame], list[Frame]]:
    """The frames the page receives and sends on its chat socket, as they pass."""
    received: list[Frame] = []
    sent: list[Frame] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    return received, sent


def test_she_answers_in_japanese_and_english_and_her_face_follows(page: Page) -> None:
    received, sent = frames_of(page)
    sign_up(page)
    create_character(page, "さくら")
    avatar = page.get_by_test_id("avatar")
    expect(avatar).to_have_attribute("data-expression", "neutral")
    mood_before = float(page.get_by_test_id("mood").get_attribute("value") or 0)

    send(page, "今日は最高に嬉しい！本当にありがとう、大好き！")
    reply = page.get_by_test_id("reply").last
    expect(reply).to_contain_text("Ace")
    assert any("\u3040" <= ch <= "\u30ff" for ch in reply.inner_text())  # answered in Japanese
    # A very happy message moves her face away from neutral, and her mood up.
    expect(avatar).not_to_have_attribute("data-expression", "neutral")
    assert float(page.get_by_test_id("mood").get_attribute("value") or 0) > mood_before
    expect(page.locator("#avatar-label")).not_to_contain_text("calm")

    # The reply came in pieces, with the typing indicator shown while it did.
    deltas = [f for f in received if f["type"] == "chat_response" and not f["payload"]["done"]]
    assert len(deltas) > 1
    expect(page.get_by_test_id("typing")).to_be_hidden()
    expect(page.get_by_test_id("typing")).to_have_attribute("data-seen", "1")

    send(page, "I'm so happy today, you are wonderful! Thank you!")
    expect(page.get_by_test_id("reply")).to_have_count(2)
    assert all(ch.isascii() for ch in page.get_by_test_id("reply").last.inner_text())

    # Read receipts both ways: her reply marks my messages read, and I tell the
    # server which reply I saw.
    expect(page.get_by_test_id("receipt").last).to_have_text("Read")
    last_reply_id = page.locator(".msg.character").last.get_attribute("data-message-id")
    assert any(
        f["type"] == "message_read" and f["payload"]["message_id"] == last_reply_id for f in sent
    )

    # A swipe asks for another take of the latest reply; going back shows the first.
    latest = page.locator(".msg.character").last
    latest.get_by_test_id("swipe-next").click()
    expect(latest.get_by_test_id("takes")).to_have_text("2 / 2")
    latest.get_by_test_id("swipe-prev").click()
    expect(latest.get_by_test_id("takes")).to_have_text("1 / 2")

    # The mood chart explains a change on hover.
    page.get_by_test_id("mood-point").last.hover()
    expect(page.locator("#chart-tip")).to_contain_text("message")
    shoot(page, "chat-en")

    page.get_by_test_id("language").select_option("ja")
    expect(page.get_by_test_id("send")).to_have_text("送信")
    expect(page.get_by_test_id("receipt").last).to_have_text("既読")
    shoot(page, "chat-ja")


def test_the_browser_language_picks_japanese_and_the_choice_is_kept(
    browser: Browser, server: Server
) -> None:
    context = browser.new_context(base_url=server.base, locale="ja-JP")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page.get_by_test_id("sign-in")).to_have_text("ログイン")
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        shoot(page, "sign-in-ja")
        page.get_by_test_id("language").select_option("en")
        page.reload()
        expect(page.get_by_test_id("sign-in")).to_have_text("Sign in")
    finally:
        context.close()
