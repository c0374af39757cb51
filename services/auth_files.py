"""DAGENT_HOME/auth: the stack's secrets (signing key, payload keys, the Web UI's
secret), each file the user's alone and written whole."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

AUTH_DIR = "auth"


def auth_dir(home: Path) -> Path:
    return home / AUTH_DIR


def publish_private(path: Path, data: bytes, replace: bool) -> None:
    """`data` at `path`, 0600 from its first byte, and whole: written to a private
    temporary file, then linked into place (`replace=False`: an existing file stays)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            temporary.replace(path)
            return
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
