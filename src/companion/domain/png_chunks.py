"""PNG files as character cards carry them: text chunks read and written, with the stdlib.

A card travels base64-encoded in a text chunk of a PNG (keyword `chara` for V2,
`ccv3` for V3). `text_chunks` reads the text chunks of a PNG (tEXt, and zTXt /
iTXt whose compressed text is inflated with a bound, never past `max_text`
bytes); `with_text_chunks` writes an image again with its text chunks replaced;
`placeholder_png` is the small image a card without one is exported on.
Every malformed file (no signature, a chunk cut short, a wrong CRC, no IEND)
is an `UnreadablePng`; a text past the bound is a `PngTooLarge`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping

from companion.domain.errors import DomainError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
MAX_KEYWORD_BYTES = 79


class UnreadablePng(DomainError):
    """The bytes are not a whole, well-formed PNG."""

    code = "invalid_card"


class PngTooLarge(DomainError):
    """A text chunk inflates past the bound it may take."""

    code = "body_too_large"


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each chunk's type and data, checked, up to and including IEND."""
    if not png.startswith(SIGNATURE):
        raise UnreadablePng("the image is not a PNG (no PNG signature)")
    offset = len(SIGNATURE)
    while True:
        if offset + 8 > len(png):
            raise UnreadablePng("the PNG is truncated (it ends before its IEND chunk)")
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        end = offset + 8 + length + 4
        if end > len(png):
            raise UnreadablePng(f"the PNG is truncated (in a {kind!r} chunk)")
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if zlib.crc32(kind + data) != crc:
            raise UnreadablePng(f"the PNG is corrupt (a {kind!r} chunk's CRC is wrong)")
        yield kind, data
        if kind == b"IEND":
            return
        offset = end


def _inflate(data: bytes, max_text: int) -> bytes:
    """Inflate at most `max_text` bytes; more is a PngTooLarge, never a bigger buffer."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, max_text + 1)
    except zlib.error:
        raise UnreadablePng("a compressed text chunk of the PNG is corrupt") from None
    if len(text) > max_text or inflater.unconsumed_tail:
        raise PngTooLarge(f"a text chunk of the PNG inflates past {max_text} bytes")
    return text


def _text(kind: bytes, data: bytes, max_text: int) -> tuple[str, bytes]:
    """A text chunk's keyword and its text's bytes."""
    keyword, separator, rest = data.partition(b"\x00")
    if not separator or not 1 <= len(keyword) <= MAX_KEYWORD_BYTES:
        raise UnreadablePng("a text chunk of the PNG has no keyword")
    name = keyword.decode("latin-1")
    if kind == b"tEXt":
        return name, rest
    if kind == b"zTXt":
        if rest[:1] != b"\x00":
            raise UnreadablePng("a zTXt chunk of the PNG names an unknown compression")
        return name, _inflate(rest[1:], max_text)
    if len(rest) < 2:
        raise UnreadablePng("an iTXt chunk of the PNG is cut short")
    compressed, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        raise UnreadablePng("an iTXt chunk of the PNG is cut short")
    text = parts[2]
    if compressed:
        if method != 0:
            raise UnreadablePng("an iTXt chunk of the PNG names an unknown compression")
        text = _inflate(text, max_text)
    return name, text


def text_chunks(png: bytes, *, max_text: int) -> dict[str, bytes]:
    """The text chunks of a PNG by keyword (the first of each), none longer than `max_text`."""
    found: dict[str, bytes] = {}
    for kind, data in _chunks(png):
        if kind in TEXT_TYPES:
            keyword, text = _text(kind, data, max_text)
            found.setdefault(keyword, text)
    return found


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_text_chunks(
    png: bytes, texts: Mapping[str, bytes], *, removing: Iterable[str] = ()
) -> bytes:
    """The image again, its text chunks of these keywords (and of `removing`) replaced by
    tEXt chunks of `texts`.

    Other chunks keep their order; the new ones go just before IEND.
    """
    gone = {*texts, *removing}
    for keyword in texts:
        if not 1 <= len(keyword) <= MAX_KEYWORD_BYTES or not keyword.isascii():
            raise ValueError(f"not a PNG keyword: {keyword!r}")
    out = [SIGNATURE]
    for kind, data in _chunks(png):
        if kind in TEXT_TYPES and data.partition(b"\x00")[0].decode("latin-1") in gone:
            continue
        if kind == b"IEND":
            out.extend(
                _chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text)
                for keyword, text in texts.items()
            )
        out.append(_chunk(kind, data))
    return b"".join(out)


def placeholder_png(size: int = 64, rgb: tuple[int, int, int] = (0xE8, 0xA0, 0xB4)) -> bytes:
    """A small plain PNG of one colour, for a card that came without an image."""
    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"".join(
        (
            SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(row * size, 9)),
            _chunk(b"IEND", b""),
        )
    )
