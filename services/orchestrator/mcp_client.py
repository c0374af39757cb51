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

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
import httpx2
from agents.mcp import MCPServerStreamableHttp
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import REQUEST_TIMEOUT
from temporalio.exceptions import ApplicationError

from services import topology
from services.identity import delegation
from services.toolservice.contract import IDEMPOTENCY_META, SCOPES_META, USER_META

# Seconds one MCP request may wait for its answer, and then the liveness check: below
# the call activity's start-to-close (5 s), so a silent server is named as such.
MCP_REQUEST_SECONDS = 3.5
MCP_PING_SECONDS = 1
# Seconds the HTTP transport waits to connect or read a stream.
MCP_TRANSPORT_SECONDS = 35
MCP_SERVER_SILENT = "McpServerSilent"


class CallToken(httpx2.Auth):
    """Each MCP request's bearer token, minted from the request itself: a tool call's
    carries its user, scopes, tool, idempotency key and arguments (from the call's
    `_meta`, which the workflow filled); any other request (initialize, list) the
    orchestrator's own, which can run no tool. Requests on one connection come from
    many conversations at once, so the token is never the connection's."""

    requires_request_body = True

    def __init__(self, team: str, home: Path) -> None:
        self.team = team
        self.home = home

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token_for(request.content)}"
        yield request

    def token_for(self, body: bytes) -> str:
        try:
            message = json.loads(body) if body else {}
        except ValueError:
            message = {}
        params = message.get("params") if isinstance(message, dict) else None
        if not isinstance(params, dict) or message.get("method") != "tools/call":
            return delegation.for_service(self.home, self.team)
        meta = params.get("_meta")
        if not isinstance(meta, dict) or not meta.get(USER_META):
            return delegation.for_service(self.home, self.team)
        return delegation.for_call(
            self.home,
            str(meta[USER_META]),
            [str(scope) for scope in meta.get(SCOPES_META) or []],
            self.team,
            str(params.get("name", "")),
            str(meta.get(IDEMPOTENCY_META, "")),
            params.get("arguments") or {},
        )


class TeamMcpServer(MCPServerStreamableHttp):
    def __init__(self, team: str, port: int, home: Path) -> None:
        self.url = topology.mcp_url(port)
        super().__init__(
            name=f"dagent-{team}",
            params={
                "url": self.url,
                "auth": CallToken(team, home),
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
