"""The bearer token of a stack's MCP servers: made once by `dagent up` (mode 0600 under
DAGENT_HOME), presented by the orchestrator and by MCP clients, checked by the servers."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from services.settings import RUN_DIR

# A token given in the environment wins over the file (a team serving on its own).
TOKEN_ENV = "DAGENT_MCP_TOKEN"  # noqa: S105 (a variable name, not a secret)


def token_file(home: Path) -> Path:
    return home / RUN_DIR / "mcp-token"


def load(home: Path) -> str | None:
    """The token, or None when there is none."""
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    try:
        return token_file(home).read_text().strip() or None
    except OSError:
        return None


def ensure(home: Path) -> str:
    """The stack's token, made on first use and kept (so configured clients keep
    working) until `down --purge`."""
    path = token_file(home)
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token)
    return token
