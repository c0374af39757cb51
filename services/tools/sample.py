"""Deterministic sample values: the same input always gives the same output."""

from __future__ import annotations

import hashlib


def fraction(*parts: str) -> float:
    """A stable number in [0, 1) derived from `parts` (not Python's salted hash)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(items: list[str], *parts: str) -> str:
    return items[int(fraction(*parts) * len(items))]
