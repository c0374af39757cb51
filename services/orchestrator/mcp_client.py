"""How the orchestrator's worker talks to a team's MCP server (`mcp` pattern): the
Agents SDK's Streamable HTTP client, with a bearer token resolved worker-side (it
never enters workflow history) and a server that stays silent told apart from one
that is restarting.

A request not answered within a few seconds is followed by a plain HTTP request
on a new connection: a server that answers it (any status) is merely busy (its
tool waits on a team worker that is restarting, say), and the call is tried
again with the same idempotency key, which finds the tool's first run; a server
that does not is silent (alive but stuck) and the call fails at once, for good.
A refused or dropped connection is retried by the activity's policy, so a server
the supervisor restarts, or an orchestrator that restarts mid-call, is used
again within the same call."""

from __future__ import annotations

from typing import Any

import httpx
from agents.mcp import MCPServerStreamableHttp
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import REQUEST_TIMEOUT
from temporalio.exceptions import ApplicationError

from services import topology
from services.toolservice import mcp_token

# Seconds one MCP request may wait for its answer, and then the liveness check: below
# the call activity's start-to-close (5 s), so a silent server is named as such.
MCP_REQUEST_SECONDS = 3.5
MCP_PING_SECONDS = 1
# Seconds the HTTP transport waits to connect or read a stream.
MCP_TRANSPORT_SECONDS = 35
MCP_SERVER_SILENT = "McpServerSilent"


class TeamMcpServer(MCPServerStreamableHttp):
    def __init__(self, team: str, port: int, home: Any) -> None:
        self.url = topology.mcp_url(port)
        super().__init__(
            name=f"dagent-{team}",
            params={
                "url": self.url,
                "headers": {"Authorization": f"Bearer {mcp_token.load(home) or ''}"},
                "timeout": MCP_TRANSPORT_SECONDS,
            },
            cache_tools_list=True,
            client_session_timeout_seconds=MCP_REQUEST_SECONDS,
        )
        self.team = team

    async def connect(self) -> None:
        # The plugin connects before a call: a server stuck since discovery is named here.
        try:
            await super().connect()  # type: ignore[no-untyped-call]
        except MCPError as exc:
            raise await self._unanswered(exc, "the connection") from None

    async def call_tool(self, tool_name: str, arguments: dict[str, Any] | None, meta: Any = None) -> Any:
        try:
            return await super().call_tool(tool_name, arguments, meta)
        except MCPError as exc:
            raise await self._unanswered(exc, "the call") from None

    async def _unanswered(self, exc: MCPError, what: str) -> Exception:
        """A request left unanswered: busy (retried) or silent (final); other errors as they are."""
        if exc.code != REQUEST_TIMEOUT:
            return exc
        if await self._alive():
            return ApplicationError(f"the {self.team} MCP server is still busy with {what}")
        return ApplicationError(
            f"the {self.team} MCP server did not answer within {MCP_REQUEST_SECONDS:g} s",
            type=MCP_SERVER_SILENT,
            non_retryable=True,
        )

    async def _alive(self) -> bool:
        """Whether the server's event loop answers at all (a refusal counts: 401 without a token)."""
        try:
            # Straight to the local server: no proxy from the environment in between.
            async with httpx.AsyncClient(timeout=MCP_PING_SECONDS, trust_env=False) as client:
                await client.get(self.url)
        except httpx.HTTPError:
            return False
        return True
