"""Who may use the stack's Web UI: whoever holds its secret, as with Jupyter.

The Web UI decrypts payloads for whoever reaches it (its codec endpoint), and every
local user can reach a loopback port. So the guard (`services.webui`) answers only a
browser that has shown the secret: once, in the link `dagent up` and `dagent status`
print (the query parameter), after which an HttpOnly, SameSite=Strict cookie carries
it. The secret lives under DAGENT_HOME/auth (0600), made once by `dagent up`.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlencode

from services.auth_files import auth_dir, publish_private

TOKEN_FILE = "web-token"  # noqa: S105 (a file name, not the secret)
# The query parameter of the link, and the cookie the guard sets from it.
QUERY = "dagent-token"
COOKIE = "dagent-web"


def token_file(home: Path) -> Path:
    return auth_dir(home) / TOKEN_FILE


def ensure_token(home: Path) -> str:
    """The Web UI's secret, made the first time (never overwritten)."""
    path = token_file(home)
    if not path.exists():
        auth_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
        publish_private(path, secrets.token_urlsafe(32).encode(), replace=False)
    return read_token(home) or ""


def read_token(home: Path) -> str | None:
    try:
        return token_file(home).read_text().strip() or None
    except FileNotFoundError:
        return None


def login_link(home: Path, url: str, path: str = "/") -> str:
    """`url` + `path` with the secret, for the user to open (their browser keeps it)."""
    token = read_token(home)
    link = url.rstrip("/") + path
    return f"{link}?{urlencode({QUERY: token})}" if token else link
