"""Where the images character cards came on are kept: content-addressed, outside the events.

An event names an image by the SHA-256 of its bytes; the bytes live here, as
files under a directory (the data directory's `card-images`). The app's
Characters keeps them in memory when it is given no store.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_ADDRESS = re.compile(r"^[0-9a-f]{64}$")


def address_of(image: bytes) -> str:
    """The content address of an image: its SHA-256, in hex."""
    return hashlib.sha256(image).hexdigest()


class FileCardImages:
    """Images as files named by their address under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, address: str) -> Path | None:
        if not _ADDRESS.match(address):
            return None
        return self.root / address[:2] / f"{address}.png"

    def put(self, image: bytes) -> str:
        address = address_of(image)
        path = self._path(address)
        assert path is not None
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: a reader never sees half an image.
            handle, temporary = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(handle, "wb") as file:
                file.write(image)
            os.replace(temporary, path)
        return address

    def get(self, address: str) -> bytes | None:
        path = self._path(address)
        if path is None or not path.is_file():
            return None
        return path.read_bytes()
