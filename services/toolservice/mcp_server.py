"""A team's MCP server: the team's tools from the registry, each call a durable tool
workflow in the team's namespace.

Secure by default over HTTP: bound to 127.0.0.1, Host and Origin checked
(DNS-rebinding protection), and every request needs a bearer token the stack signed
for this team; each tool call is then decided by the scope its user holds. Over
stdio no port is opened, stdout carries nothing but the protocol, and calls act as
the login user who launched the server.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import fastmcp
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.auth import AccessToken, TokenVerifier
from fastmcp.server.dependencies import fastmcp_request_ctx, get_access_token
from fastmcp.tools.base import Tool, ToolResult
from mcp.types import TextContent
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RawValue, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from services import __version__, limits, logs, temporal, topology
from services.errors import IdentityError
from services.failures import root_message
from services.http_limits import uvicorn_limits
from services.identity import delegation, users
from services.identity.headers import ClientIdentity, call_token
from services.identity.keys import local_key_set, require_local_key_set, signing_key
from services.identity.tokens import mint, verify
from services.teams import SCOPES, get_tool, tools_of
from services.telemetry import tracing
from services.tools import ToolInputError
from services.toolservice import access, policy
from services.toolservice.contract import IDEMPOTENCY_META, SCOPE_META, ToolCall
from services.toolservice.verify import authentic_outcome
from services.toolservice.workflows import TOOL_WORKFLOW

logger = logging.getLogger("dagent.mcp")

# Seconds an MCP session may sit idle before the server ends it. Opening one takes a
# valid token, so only the user's own clients hold sessions at all.
SESSION_IDLE_TIMEOUT = 300.0


class ServiceTokens(TokenVerifier):
    """An OAuth 2.1 resource server for this team: a bearer token must be signed by the
    stack's key, unexpired, and meant for this service (`aud`). Which tool it may
    run is decided per call."""

    def __init__(self, team: str, home: Path) -> None:
        super().__init__()
        self.team = team
        self.home = home

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = verify(token, local_key_set(self.home), delegation.service_audience(self.team))
        except IdentityError as exc:
            logger.warning("refused a request to the %s MCP server: %s", self.team, exc)
            return None
        expires = int(principal.expires_at.timestamp()) if principal.expires_at else None
        return AccessToken(
            token=token,
            client_id=principal.user,
            scopes=sorted(principal.scopes),
            expires_at=expires,
            claims=principal.claims,
        )


class WorkflowTool(Tool):
    """An MCP tool whose call runs the registry tool as a workflow in its team's namespace."""

    team: str
    home: Path
    # Over HTTP a call acts with its bearer token; over stdio as the login user.
    http: bool
    client: Any  # temporalio Client; Any keeps pydantic from inspecting it

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            get_tool(self.name, self.team).parse(arguments)  # clear errors before any workflow starts
        except ToolInputError as exc:
            raise _failed(str(exc)) from None
        client: Client = self.client
        key = _idempotency_key()
        # A call without a key of the caller's gets one of its own: the result is checked
        # against it (never another call's result).
        call = ToolCall(
            tool=self.name,
            arguments_json=json.dumps(arguments),
            idempotency_key=key or f"mcp-{uuid.uuid4().hex}",
        )
        try:
            token = _bearer() if self.http else _stdio_token(self.home, self.team)
            principal = access.decide(self.home, self.team, call, token, record_allow=False)
        except IdentityError as exc:
            raise _failed(str(exc)) from None
        # The tool workflow starts with the same token (its header): its activity decides again.
        call_token.set(token)
        # A retried call (same key, same user, same call) finds the workflow of the first
        # attempt, running or finished, and answers with its result: the tool runs once.
        # The key with anything else is refused (Stripe's rule): never another's result.
        workflow_id = (
            f"{self.team}-mcp-tool-{_digest(key)}" if key else f"{self.team}-mcp-tool-{call.idempotency_key}"
        )
        fingerprint = call_fingerprint(principal.user, call)
        try:
            try:
                handle = await client.start_workflow(
                    TOOL_WORKFLOW,
                    call,
                    result_type=RawValue,
                    id=workflow_id,
                    task_queue=topology.TEAMS[self.team].task_queue,
                    execution_timeout=policy.CALL_TIMEOUT,
                    task_timeout=policy.TASK_TIMEOUT,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    memo={CALL_MEMO: fingerprint},
                    static_summary=call.summary(),
                )
            except WorkflowAlreadyStartedError:
                handle = client.get_workflow_handle(workflow_id, result_type=RawValue)
                first = (await (await handle.describe()).memo()).get(CALL_MEMO)
                if first != fingerprint:
                    raise _failed(
                        "This idempotency key was already used for another call; "
                        "use a new key for a new call."
                    ) from None
            raw: RawValue = await handle.result()
            # Read raw, to see what the payload codec found: a worker on the team's queue
            # that lacks the stack's key must not get its answer to the caller.
            outcome = authentic_outcome(raw.payload, call, self.team, client.data_converter.payload_converter)
        except ApplicationError as exc:
            raise _failed(exc.message) from None
        except WorkflowFailureError as exc:
            raise _failed(root_message(exc)) from None
        except RuntimeError as exc:  # Temporal unreachable
            raise _failed(f"The {self.team} service cannot reach Temporal: {exc}") from None
        text = json.dumps(outcome.result)
        return ToolResult(content=[TextContent(type="text", text=text)], structured_content=outcome.result)


def _idempotency_key() -> str:
    """The caller's idempotency key, from the request's `_meta` (dagent's orchestrator
    sends one per tool call; other MCP clients need not)."""
    request = fastmcp_request_ctx.get()
    meta = request.meta if request is not None else None
    key = (meta or {}).get(IDEMPOTENCY_META)
    return key if isinstance(key, str) and 0 < len(key) <= limits.MAX_IDEMPOTENCY_KEY_CHARS else ""


def _failed(reason: str) -> ToolError:
    """A failed call, its reason as `{"error": ...}`: the shape a failed tool call has
    in every transport, so an agent reads a refusal or bad input the same way."""
    return ToolError(json.dumps({"error": reason}))


def _bearer() -> str | None:
    """The HTTP request's bearer token, verified by `ServiceTokens` (None over stdio)."""
    access_token = get_access_token()
    return access_token.token if access_token is not None else None


def _stdio_token(home: Path, team: str) -> str:
    """Over stdio, whoever launched the server (an MCP client of this machine's user)
    acts as that login user, with the scopes the users file gives them."""
    user = users.login_user()
    scopes = users.scopes_of(home, user, SCOPES)
    return mint(signing_key(home), user, scopes, delegation.service_audience(team), delegation.CALL_LIFETIME)


# The memo of an MCP call's tool workflow that says which call its key was first used for.
CALL_MEMO = "dagent-call"


def call_fingerprint(user: str, call: ToolCall) -> str:
    """Who made the call, and which: its tool and arguments (however they were spelled)."""
    arguments = delegation.arguments_digest(delegation.parse_arguments(call.arguments_json))
    return _digest(chr(0).join((user, call.tool, arguments)))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def build_server(team: topology.Team, client: Client, home: Path, http: bool) -> FastMCP:
    server = FastMCP(
        name=f"dagent-{team.name}",
        version=__version__,
        instructions=f"Tools of the {team.name} team, served by dagent.",
        auth=ServiceTokens(team.name, home) if http else None,
    )
    for tool in tools_of(team.name):
        server.add_tool(
            WorkflowTool(
                name=tool.name,
                description=tool.description,
                parameters=tool.parameters_schema(),
                meta={SCOPE_META: tool.scope},
                team=team.name,
                home=home,
                http=http,
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
    encrypt: bool = True,
) -> None:
    team = topology.TEAMS[team_name]
    tracing.start(f"mcp-{team_name}", home)
    if client is None:
        client = await connect(team_name, home, encrypt, address)
        require_local_key_set(home)
    if transport == "stdio":
        await build_server(team, client, home, http=False).run_stdio_async(show_banner=False)
        return
    logger.info("MCP server %s on %s", team.name, topology.mcp_url(port))
    # A session idle this long ends (the SDK's default is 30 minutes); `run_http_async`
    # passes no timeout of its own, so the app reads this setting.
    fastmcp.settings.http_session_idle_timeout = SESSION_IDLE_TIMEOUT
    logs.adopt("fastmcp")
    await build_server(team, client, home, http=True).run_http_async(
        show_banner=False,
        host=topology.LOOPBACK,
        port=port,
        # FastMCP leaves DNS-rebinding protection off unless asked.
        host_origin_protection="auto",
        uvicorn_config=uvicorn_limits(),
    )


async def connect(team_name: str, home: Path, encrypt: bool = True, address: str | None = None) -> Client:
    """The MCP server's client: it starts tool workflows with the caller's token in their
    header, and reads their results through the stack's payload codec."""
    namespace = topology.TEAMS[team_name].namespace
    return await temporal.connect(
        namespace,
        address=address,
        interceptors=[ClientIdentity(call_token.get)],
        data_converter=temporal.sealed_converter(home, encrypt),
        plugins=tracing.plugins(),
    )
