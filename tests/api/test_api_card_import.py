"""Character cards over HTTP: imported as JSON, PNG or multipart, exported as V3 or V2, JSON
or PNG, round-tripped; every bad card answered inside the error contract."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from companion.domain.character_cards import MAX_JSON_CARD_BYTES, MAX_PNG_CARD_BYTES
from tests.support.api import sign_up
from tests.support.errors import assert_error_shape

CARDS = Path(__file__).parent.parent / "data" / "cards"
IMPORT = "/api/v1/characters/import"
SAKURA = json.loads((CARDS / "sakura_v2.json").read_text())
HIKARI = json.loads((CARDS / "hikari_v3.json").read_text())
NO_AGE: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {"name": "Ren", "description": "Ren is a quiet, thoughtful librarian."},
}


def _post_json(client: TestClient[Any], user: dict[str, str], card: Any, query: str = "") -> Any:
    return client.post(
        IMPORT + query,
        headers={**user, "Content-Type": "application/json"},
        content=json.dumps(card, ensure_ascii=False).encode(),
    )


def _post_png(client: TestClient[Any], user: dict[str, str], png: bytes, query: str = "") -> Any:
    return client.post(IMPORT + query, headers={**user, "Content-Type": "image/png"}, content=png)


def _imported(response: Any) -> str:
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"character_id"}
    character_id: str = response.json()["character_id"]
    return character_id


def _character(client: TestClient[Any], user: dict[str, str], character_id: str) -> Any:
    body = client.get(f"/api/v1/characters/{character_id}", headers=user).json()
    return {k: v for k, v in body.items() if k not in ("character_id", "created_at", "updated_at")}


def _export(
    client: TestClient[Any], user: dict[str, str], character_id: str, query: str = ""
) -> Any:
    response = client.get(f"/api/v1/characters/{character_id}/card{query}", headers=user)
    assert response.status_code == 200, response.text
    return response


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        chunks.append((png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def _png_with(*extra: bytes) -> bytes:
    """A small PNG with `extra` chunks before its IEND."""
    row = b"\x00" + b"\x10\x20\x30" * 2
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)),
            _chunk(b"IDAT", zlib.compress(row * 2)),
            *extra,
            _chunk(b"IEND", b""),
        )
    )


def test_a_v2_json_card_becomes_a_character_with_its_persona(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    character_id = _imported(_post_json(client, user, SAKURA))

    shown = _character(client, user, character_id)
    assert shown["name"] == "Sakura Mizuno"
    assert shown["age"] == 24  # "24 years old" in the description
    assert shown["gender"] == "girlfriend"
    assert shown["backstory"] == SAKURA["data"]["description"]
    assert shown["personality"]["activeness"] > 0.5  # cheerful
    listed = client.get("/api/v1/characters", headers=user).json()["characters"]
    assert [c["character_id"] for c in listed] == [character_id]


def test_a_card_exports_as_v3_with_every_field_it_came_with(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    character_id = _imported(_post_json(client, user, HIKARI))

    exported = _export(client, user, character_id)

    assert exported.headers["content-type"].startswith("application/json")
    card = exported.json()
    assert (card["spec"], card["spec_version"]) == ("chara_card_v3", "3.0")
    data = card["data"]
    for field, value in HIKARI["data"].items():
        if field != "extensions":
            assert data[field] == value, field
    assert data["extensions"]["risu"] == HIKARI["data"]["extensions"]["risu"]
    assert data["extensions"]["companion"]["age"] == 25


@pytest.mark.parametrize("spec", ["v3", "v2"])
@pytest.mark.parametrize("fixture", [SAKURA, HIKARI], ids=["v2", "v3"])
def test_import_export_import_gives_the_same_character_and_card(
    client: TestClient[Any], user: dict[str, str], fixture: dict[str, Any], spec: str
) -> None:
    first = _imported(_post_json(client, user, fixture))
    card = _export(client, user, first, f"?spec={spec}").json()
    assert card["spec"] == f"chara_card_{spec}"

    second = _imported(_post_json(client, user, card))

    assert _character(client, user, second) == _character(client, user, first)
    assert _export(client, user, second, f"?spec={spec}").json() == card
    assert _export(client, user, second).json() == _export(client, user, first).json()


@pytest.mark.parametrize("name", ["sakura_v2.png", "hikari_v3.png"])
def test_a_png_card_exports_on_its_own_image_and_round_trips(
    client: TestClient[Any], user: dict[str, str], name: str
) -> None:
    png = (CARDS / name).read_bytes()
    first = _imported(_post_png(client, user, png))

    exported = _export(client, user, first, "?format=png")

    assert exported.headers["content-type"] == "image/png"
    image = [c for c in _png_chunks(png) if c[0] in (b"IHDR", b"IDAT")]
    assert [c for c in _png_chunks(exported.content) if c[0] in (b"IHDR", b"IDAT")] == image
    keywords = [d.split(b"\x00")[0] for k, d in _png_chunks(exported.content) if k == b"tEXt"]
    assert sorted(keywords) == [b"ccv3", b"chara"]
    second = _imported(_post_png(client, user, exported.content))
    assert _character(client, user, second) == _character(client, user, first)


def test_a_v3_png_is_read_from_its_ccv3_chunk(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    character_id = _imported(_post_png(client, user, (CARDS / "hikari_v3.png").read_bytes()))

    assert _character(client, user, character_id)["nickname"] == "ひかり"


def test_a_created_character_exports_on_a_placeholder_png(
    client: TestClient[Any], user: dict[str, str], character: str
) -> None:
    exported = _export(client, user, character, "?format=png&spec=v2")

    chunks = _png_chunks(exported.content)
    assert exported.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert [k for k, _ in chunks if k == b"IDAT"]
    (text,) = [d for k, d in chunks if k == b"tEXt"]
    keyword, encoded = text.split(b"\x00", 1)
    assert keyword == b"chara"
    assert json.loads(base64.b64decode(encoded))["data"]["name"] == "Hana Sato"


def test_a_card_comes_as_the_multipart_field_card(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    png = (CARDS / "sakura_v2.png").read_bytes()
    as_png = client.post(IMPORT, headers=user, files={"card": ("sakura.png", png, "image/png")})
    as_json = client.post(
        IMPORT,
        headers=user,
        files={"card": ("hikari.json", json.dumps(HIKARI).encode(), "application/json")},
    )

    assert _character(client, user, _imported(as_png))["name"] == "Sakura Mizuno"
    assert _character(client, user, _imported(as_json))["name"] == "星野ひかり"
    other = client.post(IMPORT, headers=user, files={"avatar": ("a.png", png, "image/png")})
    errors = assert_error_shape(other, 422, "validation_failed")["extra"]["errors"]
    assert [error["field"] for error in errors] == ["card"]


def test_a_card_without_an_age_takes_the_one_given(
    client: TestClient[Any], user: dict[str, str]
) -> None:
    refused = _post_json(client, user, NO_AGE)
    body = assert_error_shape(refused, 422, "validation_failed")
    assert "?age=" in body["detail"]

    character_id = _imported(_post_json(client, user, NO_AGE, "?age=31"))
    assert _character(client, user, character_id)["age"] == 31
    assert_error_shape(_post_json(client, user, NO_AGE, "?age=17"), 422, "validation_failed")


@pytest.mark.parametrize(
    "change",
    [
        {"description": "Mio is a 16-year-old student."},
        {"description": "ミオは16歳の高校生。"},
        {"extensions": {"age": 15}},
        {"extensions": {"companion": {"age": 17}}},
    ],
)
def test_an_under_age_card_is_refused_whatever_age_is_given(
    client: TestClient[Any], user: dict[str, str], change: dict[str, Any]
) -> None:
    card = {**NO_AGE, "data": {**NO_AGE["data"], **change}}

    refused = _post_json(client, user, card, "?age=30")

    body = assert_error_shape(refused, 422, "validation_failed")
    assert "adults" in body["detail"]
    assert client.get("/api/v1/characters", headers=user).json() == {"characters": []}


def _ztxt_bomb(keyword: bytes) -> bytes:
    return _chunk(b"zTXt", keyword + b"\x00\x00" + zlib.compress(b"A" * (64 * 1024 * 1024), 9))


def _itxt_bomb(keyword: bytes) -> bytes:
    inflating = zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    return _chunk(b"iTXt", keyword + b"\x00\x01\x00\x00\x00" + inflating)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"spec": "chara_card_v2", ', "application/json", 400, "malformed_json"),
        (b'{"name": "Not a card"}', "application/json", 422, "validation_failed"),
        (
            b'{"spec": "chara_card_v3", "data": {"name": 7}}',
            "application/json",
            422,
            "validation_failed",
        ),
        (_png_with(), "image/png", 400, "invalid_card"),
        ((CARDS / "sakura_v2.png").read_bytes()[:-40], "image/png", 400, "invalid_card"),
        (b"GIF89a not a png", "image/png", 400, "invalid_card"),
        (_png_with(_chunk(b"tEXt", b"chara\x00%%%not base64")), "image/png", 400, "invalid_card"),
        (
            _png_with(_chunk(b"tEXt", b"chara\x00" + base64.b64encode(b"{oops"))),
            "image/png",
            400,
            "invalid_card",
        ),
        (_png_with(_ztxt_bomb(b"chara")), "image/png", 413, "body_too_large"),
        (_png_with(_itxt_bomb(b"ccv3")), "image/png", 413, "body_too_large"),
        (b" " * (MAX_JSON_CARD_BYTES + 1), "application/json", 413, "body_too_large"),
        (b"\x89PNG" + b"\x00" * MAX_PNG_CARD_BYTES, "image/png", 413, "body_too_large"),
        (json.dumps(SAKURA).encode(), "text/plain", 415, "unsupported_media_type"),
    ],
    ids=[
        "malformed-json",
        "json-not-a-card",
        "wrong-field-type",
        "png-without-card",
        "truncated-png",
        "not-a-png",
        "bad-base64",
        "chunk-not-json",
        "ztxt-bomb",
        "itxt-bomb",
        "json-too-large",
        "png-too-large",
        "unsupported-type",
    ],
)
def test_a_bad_card_is_a_clear_4xx(
    client: TestClient[Any],
    user: dict[str, str],
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    # With an age given, so that only what is wrong with the card can refuse it.
    response = client.post(
        f"{IMPORT}?age=30", headers={**user, "Content-Type": content_type}, content=body
    )

    assert_error_shape(response, status, code)


def test_only_the_owner_exports_a_character(client: TestClient[Any], user: dict[str, str]) -> None:
    character_id = _imported(_post_json(client, user, SAKURA))
    stranger = sign_up(client)

    for query in ("", "?format=png", "?spec=v2"):
        response = client.get(f"/api/v1/characters/{character_id}/card{query}", headers=stranger)
        assert_error_shape(response, 404, "character_not_found")
        assert "Sakura" not in response.text
    assert client.post(IMPORT, json=SAKURA).status_code == 401
    assert client.get(f"/api/v1/characters/{character_id}/card").status_code == 401
