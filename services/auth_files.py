"""DAGENT_HOME/auth: the stack's secrets (signing key, payload keys, the Web UI's
and the metrics' secrets), each file the user's alone and written whole."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

AUTH_DIR = "auth"
# The secret a scraper of the workers' /metrics sends as its bearer token.
METRICS_TOKEN_FILE = "metrics-token"  # noqa: S105 (a file name, not the secret)


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


def ensure_secret(home: Path, name: str) -> str:
    """The random secret in auth/`name`, made the first time (never overwritten)."""
    path = auth_dir(home) / name
    if not path.exists():
        auth_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
        publish_private(path, secrets.token_urlsafe(32).encode(), replace=False)
    return read_secret(home, name) or ""


def read_secret(home: Path, name: str) -> str | None:
    try:
        return (auth_dir(home) / name).read_text().strip() or None
    except FileNotFoundError:
        return None
