"""Builds the PNG fixtures from the JSON cards beside it, independently of the code under test.

Run from the repository's root: `python tests/data/cards/build_pngs.py`.
sakura_v2.png carries sakura_v2.json in a `chara` chunk; hikari_v3.png carries
hikari_v3.json in `ccv3` and a V2 rendering of it in `chara`, as V3 writers do.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def image(width: int, height: int, seed: int) -> list[bytes]:
    rows = b"".join(
        b"\x00" + bytes((x * 16 + seed) % 256 for x in range(width) for _ in range(3))
        for _ in range(height)
    )
    return [
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        chunk(b"IDAT", zlib.compress(rows)),
    ]


def text(keyword: bytes, card: dict[str, Any]) -> bytes:
    encoded = base64.b64encode(json.dumps(card, ensure_ascii=False).encode())
    return chunk(b"tEXt", keyword + b"\x00" + encoded)


def png(parts: list[bytes]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(parts) + chunk(b"IEND", b"")


def main() -> None:
    v2 = json.loads((HERE / "sakura_v2.json").read_text())
    v3 = json.loads((HERE / "hikari_v3.json").read_text())
    v3_as_v2 = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {k: v for k, v in v3["data"].items() if k not in ("assets", "nickname")},
    }
    (HERE / "sakura_v2.png").write_bytes(png([*image(8, 8, 1), text(b"chara", v2)]))
    (HERE / "hikari_v3.png").write_bytes(
        png([*image(12, 10, 7), text(b"chara", v3_as_v2), text(b"ccv3", v3)])
    )


if __name__ == "__main__":
    main()
