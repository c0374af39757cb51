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
import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx2
from agents.mcp import MCPServerStreamableHttp
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import REQUEST_TIMEOUT
from temporalio.exceptions import ApplicationError

from services import topology
from services.errors import IdentityError
from services.identity import delegation
from services.identity.headers import call_token
from services.identity.tokens import Principal
from services.orchestrator.liveness import PING_SECONDS, answers
from services.tools import labelled, parse_result
from services.toolservice.contract import IDEMPOTENCY_META

logger = logging.getLogger("dagent.mcp_client")

# Seconds one MCP request may wait for its answer, and then the liveness check: below
# the call activity's start-to-close (5 s), so a silent server is named as such.
MCP_REQUEST_SECONDS = 3.5
# Seconds the HTTP transport waits to connect or read a stream.
MCP_TRANSPORT_SECONDS = 35
MCP_SERVER_SILENT = "McpServerSilent"


class CallToken(httpx2.Auth):
    """Each MCP request's bearer token, minted from the request itself: a tool call's for
    the user its turn's grant names, bound to its tool, idempotency key and arguments;
    any other request (initialize, list) the orchestrator's own, which can run no tool.
    Requests on one connection serve many conversations at once, so the token is never
    the connection's, and the transport sends them from a task of its own, so a call's
    grant is looked up by its key."""

    requires_request_body = True

    def __init__(self, team: str, home: Path) -> None:
        self.team = team
        self.home = home
        # idempotency key -> who its call acts for, while the call is in flight
        self.grants: dict[str, Principal] = {}

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token_for(request.content)}"
        yield request

    def token_for(self, body: bytes) -> str:
        try:
            message = json.loads(body) if body else {}
        except ValueError:
            message = {}
        params = message.get("params") if isinstance(message, dict) else None
        meta = params.get("_meta") if isinstance(params, dict) else None
        key = meta.get(IDEMPOTENCY_META) if isinstance(meta, dict) else None
        grant = self.grants.get(key) if isinstance(key, str) else None
        if grant is None or not isinstance(params, dict) or message.get("method") != "tools/call":
            return delegation.for_service(self.home, self.team)
        return delegation.for_call(
            self.home,
            grant.user,
            sorted(grant.scopes),
            self.team,
            str(params.get("name", "")),
            str(key),
            params.get("arguments") or {},
        )


class TeamMcpServer(MCPServerStreamableHttp):
    def __init__(self, team: str, port: int, home: Path) -> None:
        self.url = topology.mcp_url(port)
        self.home = home
        self.auth = CallToken(team, home)
        super().__init__(
            name=f"dagent-{team}",
            params={
                "url": self.url,
                "auth": self.auth,
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
        key = str((meta or {}).get(IDEMPOTENCY_META) or "")
        grant = self._grant(key)
        if grant is not None:
            self.auth.grants[key] = grant
        try:
            return _labelled(await super().call_tool(tool_name, arguments, meta), tool_name, self.team)
        except MCPError as exc:
            raise await self._unanswered(exc, "the call") from None
        finally:
            # Only this attempt's grant: an attempt that ends late (cancelled at its
            # timeout) must not take away the grant of the retry that followed it on
            # this connection, which would then be sent with the orchestrator's token.
            if grant is not None and self.auth.grants.get(key) is grant:
                del self.auth.grants[key]

    def _grant(self, key: str) -> Principal | None:
        """Who this call acts for: its turn's grant, from the activity's header (none: the
        call goes with the orchestrator's own token, and the service refuses the tool)."""
        if not key:
            return None
        try:
            return delegation.verify_turn(call_token.get(), self.home, key)
        except IdentityError as exc:
            logger.warning("MCP call %s without a valid grant: %s", key, exc)
            return None

    async def _unanswered(self, exc: MCPError, what: str) -> Exception:
        """A request left unanswered: busy (retried) or silent (final); other errors as they are."""
        if exc.code != REQUEST_TIMEOUT:
            return exc
        if await answers(self.url, PING_SECONDS):
            return ApplicationError(f"the {self.team} MCP server is still busy with {what}")
        return ApplicationError(
            f"the {self.team} MCP server did not answer within {MCP_REQUEST_SECONDS:g} s",
            type=MCP_SERVER_SILENT,
            non_retryable=True,
        )


def _labelled(result: Any, tool: str, team: str) -> Any:
    """The server's answer with each text labelled as the other transports label theirs
    (`services.tools.labelled`): the model reads it as data from this team's tool."""
    content = [
        item.model_copy(update={"text": labelled(parse_result(item.text), tool, team, "mcp")})
        if getattr(item, "type", None) == "text"
        else item
        for item in result.content
    ]
    return result.model_copy(update={"content": content})
