"""A polar entry: a valence on a -3..3 scale and the emotions it expresses, main one first."""

from __future__ import annotations

Entry = tuple[float, str]
