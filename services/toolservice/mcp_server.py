"""A team's MCP server: the team's tools from the registry, each call a durable tool
workflow in the team's namespace.

Secure by default over HTTP: bound to 127.0.0.1, Host and Origin checked
(DNS-rebinding protection), and a bearer token required. Over stdio no port is
opened and stdout carries nothing but the protocol.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from pathlib import Path
from typing import Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.auth import AccessToken, TokenVerifier
from fastmcp.server.dependencies import fastmcp_request_ctx
from fastmcp.tools.base import Tool, ToolResult
from mcp.types import TextContent
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from services import __version__, limits, temporal, topology
from services.errors import ConfigError
from services.failures import root_message
from services.teams import get_tool, tools_of
from services.tools import ToolInputError
from services.toolservice import mcp_token, policy
from services.toolservice.contract import IDEMPOTENCY_META, SCOPE_META, ToolCall, ToolOutcome
from services.toolservice.workflows import ToolWorkflow

logger = logging.getLogger("dagent.mcp")


class BearerToken(TokenVerifier):
    """One shared secret, compared in constant time."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    async def verify_token(self, token: str) -> AccessToken | None:
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return None
        return AccessToken(token=token, client_id="dagent", scopes=["tools"])


class WorkflowTool(Tool):
    """An MCP tool whose call runs the registry tool as a workflow in its team's namespace."""

    team: str
    client: Any  # temporalio Client; Any keeps pydantic from inspecting it

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            get_tool(self.name, self.team).parse(arguments)  # clear errors before any workflow starts
        except ToolInputError as exc:
            raise ToolError(str(exc)) from None
        client: Client = self.client
        key = _idempotency_key()
        call = ToolCall(tool=self.name, arguments_json=json.dumps(arguments), idempotency_key=key)
        # A retried call (same key) finds the workflow of the first attempt, running
        # or finished, and answers with its result: the tool runs once.
        workflow_id = f"{self.team}-mcp-tool-{_digest(key) if key else uuid.uuid4().hex}"
        try:
            try:
                handle = await client.start_workflow(
                    ToolWorkflow.run,
                    call,
                    id=workflow_id,
                    task_queue=topology.TEAMS[self.team].task_queue,
                    execution_timeout=policy.CALL_TIMEOUT,
                    task_timeout=policy.TASK_TIMEOUT,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=call.summary(),
                )
            except WorkflowAlreadyStartedError:
                handle = client.get_workflow_handle(workflow_id, result_type=ToolOutcome)
            outcome: ToolOutcome = await handle.result()
        except WorkflowFailureError as exc:
            raise ToolError(root_message(exc)) from None
        except RuntimeError as exc:  # Temporal unreachable
            raise ToolError(f"The {self.team} service cannot reach Temporal: {exc}") from None
        text = json.dumps(outcome.result)
        return ToolResult(content=[TextContent(type="text", text=text)], structured_content=outcome.result)


def _idempotency_key() -> str:
    """The caller's idempotency key, from the request's `_meta` (dagent's orchestrator
    sends one per tool call; other MCP clients need not)."""
    request = fastmcp_request_ctx.get()
    meta = request.meta if request is not None else None
    key = (meta or {}).get(IDEMPOTENCY_META)
    return key if isinstance(key, str) and 0 < len(key) <= limits.MAX_IDEMPOTENCY_KEY_CHARS else ""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def build_server(team: topology.Team, client: Client, token: str | None) -> FastMCP:
    server = FastMCP(
        name=f"dagent-{team.name}",
        version=__version__,
        instructions=f"Tools of the {team.name} team, served by dagent.",
        auth=BearerToken(token) if token else None,
    )
    for tool in tools_of(team.name):
        server.add_tool(
            WorkflowTool(
                name=tool.name,
                description=tool.description,
                parameters=tool.parameters_schema(),
                meta={SCOPE_META: tool.scope},
                team=team.name,
                client=client,
            )
        )
    return server


async def serve(
    team_name: str,
    transport: str,
    port: int,
    home: Path,
    client: Client | None = None,
    address: str | None = None,
) -> None:
    team = topology.TEAMS[team_name]
    if client is None:
        client = await temporal.connect(team.namespace, address=address)
    if transport == "stdio":
        await build_server(team, client, token=None).run_stdio_async(show_banner=False)
        return
    token = mcp_token.load(home)
    if not token:
        raise ConfigError(
            f"The MCP server needs a bearer token over HTTP: set {mcp_token.TOKEN_ENV}, or start it with "
            "'dagent up --pattern mcp', which generates one."
        )
    logger.info("MCP server %s on %s", team.name, topology.mcp_url(port))
    await build_server(team, client, token).run_http_async(
        show_banner=False,
        host=topology.LOOPBACK,
        port=port,
        # FastMCP leaves DNS-rebinding protection off unless asked.
        host_origin_protection="auto",
    )
