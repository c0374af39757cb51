"""Who may use the stack's Web UI: whoever holds its secret, as with Jupyter.

The Web UI decrypts payloads for whoever reaches it (its codec endpoint), and every
local user can reach a loopback port. So the guard (`services.webui`) answers only a
browser that has shown the secret: once, in the link `dagent up` and `dagent status`
print (the query parameter), after which an HttpOnly, SameSite=Strict cookie carries
it. The secret lives under DAGENT_HOME/auth (0600), made once by `dagent up`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from services import topology
from services.auth_files import auth_dir, ensure_secret, read_secret

TOKEN_FILE = "web-token"  # noqa: S105 (a file name, not the secret)
# The query parameter of the link, and the cookie the guard sets from it.
QUERY = "dagent-token"
COOKIE = "dagent-web"


def token_file(home: Path) -> Path:
    return auth_dir(home) / TOKEN_FILE


def ensure_token(home: Path) -> str:
    """The Web UI's secret, made the first time (never overwritten)."""
    return ensure_secret(home, TOKEN_FILE)


def read_token(home: Path) -> str | None:
    return read_secret(home, TOKEN_FILE)


def login_link(home: Path, url: str, path: str = "/") -> str:
    """`url` + `path` with the secret, for the user to open (their browser keeps it)."""
    token = read_token(home)
    link = url.rstrip("/") + path
    return f"{link}?{urlencode({QUERY: token})}" if token else link


def own_hosts(port: int) -> frozenset[str]:
    """The names a loopback server of the stack answers to: its address and `localhost`."""
    return frozenset({f"{topology.LOOPBACK}:{port}", f"localhost:{port}", f"[::1]:{port}"})
