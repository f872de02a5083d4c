"""Importing a Character Card (V2) by file (PNG) and by drag-and-drop (JSON)."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import shoot, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def card(name: str) -> dict[str, object]:
    """A Character Card V2 that states no age."""
    return {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": name,
            "description": f"{name} runs a small bakery by the sea.",
            "personality": "warm, curious, a little shy",
            "scenario": "",
            "first_mes": "Oh, hello! Fresh bread today.",
            "mes_example": "",
            "creator_notes": "",
            "system_prompt": "",
            "post_history_instructions": "",
            "alternate_greetings": [],
            "tags": ["bakery"],
            "creator": "tests",
            "character_version": "1",
            "extensions": {},
        },
    }


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def card_png(card: dict[str, object]) -> bytes:
    """A 1x1 PNG carrying the card, base64 JSON, in a `chara` tEXt chunk."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    text = b"chara\x00" + base64.b64encode(json.dumps(card).encode())
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"tEXt", text),
            chunk(b"IDAT", zlib.compress(b"\x00\xff\xcc\xdd")),
            chunk(b"IEND", b""),
        ]
    )


def test_a_png_card_chosen_as_a_file_becomes_a_character(page: Page) -> None:
    sign_up(page)
    page.get_by_test_id("card-age").fill("24")
    page.get_by_test_id("card-file").set_input_files(
        {"name": "hana.png", "mimeType": "image/png", "buffer": card_png(card("Hana"))}
    )
    expect(page.locator("#chat-title")).to_have_text("Hana")
    expect(page.get_by_test_id("character")).to_have_count(1)
    shoot(page, "imported-card")


def test_a_json_card_dropped_on_the_page_becomes_a_character(page: Page) -> None:
    sign_up(page)
    page.get_by_test_id("card-age").fill("30")
    page.evaluate(
        """text => {
            const data = new DataTransfer();
            data.items.add(new File([text], "ren.json", {type: "application/json"}));
            const zone = document.getElementById("import-zone");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }""",
        json.dumps(card("Ren")),
    )
    expect(page.locator("#chat-title")).to_have_text("Ren")
