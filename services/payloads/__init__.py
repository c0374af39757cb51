"""Payloads encrypted at rest and in flight: the codec, its key ring, and the marks a
decoded payload carries (see `codec`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.converter import DataConverter

from services.payloads.codec import PayloadCipher

__all__ = ["PayloadCipher", "with_cipher"]


def with_cipher(converter: DataConverter, home: Path, encrypt: bool) -> DataConverter:
    """`converter` with the stack's payload codec."""
    return dataclasses.replace(converter, payload_codec=PayloadCipher(home, encrypt))
