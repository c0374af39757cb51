"""Text made safe to show: no terminal escape sequences, no control characters.

A message, a model's answer or a log line that carries them would repaint the
screen of whoever reads it (and can hide what was really written)."""

from __future__ import annotations

import re
from typing import Any

# ANSI/VT escape sequences (CSI and the two-byte ones).
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
# C0 control characters other than tab and newlines, and DEL.
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# C1 controls: some terminals read \x9b as the start of an escape sequence.
C1_CONTROLS = re.compile(r"[\x80-\x9f]")


def clean_text(text: str) -> str:
    """`text` without terminal escapes and control characters (tab and newlines stay)."""
    return C1_CONTROLS.sub("", CONTROLS.sub("", ESCAPES.sub("", text)))


def clean_value(value: Any) -> Any:
    """`value` (a tool's result, its arguments) with every string in it cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    return value
