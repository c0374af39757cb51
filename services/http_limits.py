"""Limits that fit the stack's small HTTP servers (the MCP servers, the Web UI's guard):
loopback servers for one user's clients, not public ones.

Uvicorn bounds a request's size but not the time its headers take: a socket that
connects and then sends nothing, or a byte now and then, is kept open for ever, and
a few hundred of them exhaust the server. `HeaderDeadline` closes such a socket, as
nginx's `client_header_timeout` does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Seconds a client has to send a request's headers, from connecting or from its
# previous response.
HEADER_TIMEOUT = 10.0
# Connections (and requests in progress) at once; more are answered 503.
MAX_CONNECTIONS = 64
# Seconds an idle keep-alive connection stays open.
KEEP_ALIVE = 5


class HeaderDeadline(H11Protocol):
    """Uvicorn's h11 protocol, with a deadline for each request's headers."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        super().connection_lost(exc)

    def _watch_headers(self) -> None:
        """Armed while the next request's headers are incomplete (h11 waits in IDLE)."""
        if self.conn.their_state is h11.IDLE:
            if self._deadline is None:
                self._deadline = self.loop.call_later(HEADER_TIMEOUT, self._headers_late)
        else:
            self._stop_watching()

    def _stop_watching(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_limits() -> dict[str, Any]:
    """Uvicorn settings for a loopback server of the stack."""
    return {
        "http": HeaderDeadline,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE,
        "server_header": False,
        "date_header": False,  # a proxied answer carries its own
        # Uvicorn's loggers go through dagent's handler (one escaped line per record).
        "log_config": None,
    }
