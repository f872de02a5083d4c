"""Every error code the API answers with is in the README's error table, with its status."""

from __future__ import annotations

import re
from pathlib import Path

from companion.app.api.errors import CODES

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<code>[a-z_]+)` \| (?P<status>\d{3}) \|", re.MULTILINE)


def test_every_error_code_is_in_the_readme_with_its_status() -> None:
    documented = {m["code"]: int(m["status"]) for m in ROW.finditer(README.read_text())}
    missing = {code: status for code, (status, _) in CODES.items() if code not in documented}
    assert not missing, f"add these to the README's error table: {missing}"
    wrong = {
        code: (documented[code], status)
        for code, (status, _) in CODES.items()
        if documented[code] != status
    }
    assert not wrong, f"README status differs (README, code): {wrong}"
