"""Text made safe to show: no terminal escape sequences, no control characters.

A message, a model's answer or a log line that carries them would repaint the
screen of whoever reads it (and can hide what was really written)."""

from __future__ import annotations

import re

# ANSI/VT escape sequences (CSI and the two-byte ones).
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
# C0 control characters other than tab and newlines, and DEL.
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """`text` without terminal escapes and control characters (tab and newlines stay)."""
    return CONTROLS.sub("", ESCAPES.sub("", text))
