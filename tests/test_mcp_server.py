"""The teams' MCP servers, with real MCP clients over streamable HTTP and stdio, on the
real dev server: same tools as the registry, durable calls, and secure defaults."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import pytest
import pytest_asyncio
from fastmcp import Client as McpClient
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError
from temporalio.client import Client

from services import __version__, bootstrap, topology
from services.identity import audit, delegation
from services.identity.keys import ensure_local_keys, signing_key
from services.identity.tokens import mint
from services.payloads import keyring
from services.settings import DagentSettings
from services.teams import tools_of
from services.toolservice import mcp_server
from services.toolservice.contract import IDEMPOTENCY_META
from services.worker import connect_worker_client, run_worker
from tests.helpers import free_port

pytestmark = pytest.mark.server


@dataclass(frozen=True)
class FinanceMcp:
    url: str
    # A token for this server that an MCP client of the user's would hold.
    token: str
    home: Path


def user_token(home: Path, audience: str, scopes: list[str], user: str = "alice") -> str:
    return mint(signing_key(home), user, scopes, audience, timedelta(minutes=10))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def finance_mcp(dev_server: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FinanceMcp]:
    """The Finance worker and its MCP server over HTTP, in this process."""
    home = tmp_path_factory.mktemp("mcp-home")
    ensure_local_keys(home)
    keyring.ensure(home)
    client = await mcp_server.connect("finance", home, address=dev_server)
    await bootstrap.ensure_topology(client)
    port = free_port()
    tasks = [
        asyncio.create_task(run_worker("finance", DagentSettings(home=home), client=client)),
        asyncio.create_task(mcp_server.serve("finance", "http", port, home, client=client)),
    ]
    url = f"http://127.0.0.1:{port}/mcp"
    for _ in range(100):
        try:
            async with httpx.AsyncClient() as http:
                await http.get(url)
            break
        except httpx.TransportError:
            await asyncio.sleep(0.05)
    token = user_token(home, delegation.service_audience("finance"), ["finance:read"])
    try:
        yield FinanceMcp(url, token, home)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_tools_list_matches_the_registry(finance_mcp: FinanceMcp) -> None:
    async with McpClient(finance_mcp.url, auth=finance_mcp.token) as mcp:
        listed = {tool.name: tool for tool in await mcp.list_tools()}
    expected = {tool.name: tool for tool in tools_of("finance")}
    assert set(listed) == set(expected)
    for name, tool in expected.items():
        assert listed[name].description == tool.description
        assert listed[name].input_schema == tool.parameters_schema()


async def test_the_server_names_itself_and_dagents_version(finance_mcp: FinanceMcp) -> None:
    async with McpClient(finance_mcp.url, auth=finance_mcp.token) as mcp:
        info = mcp.server_info
    assert info is not None
    assert (info.name, info.version) == ("dagent-finance", __version__)


async def test_tool_call_runs_a_workflow_in_the_team_namespace(finance_mcp: FinanceMcp) -> None:
    async with McpClient(finance_mcp.url, auth=finance_mcp.token) as mcp:
        result = await mcp.call_tool(
            "calculate_roi", {"principal": 10000, "annual_rate_percent": 5, "years": 10}
        )
    assert result.structured_content is not None
    assert result.structured_content["final_value"] == 16288.95
    assert json.loads(result.content[0].text)["roi_percent"] == 62.89  # type: ignore[union-attr]


async def test_a_call_retried_with_its_idempotency_key_runs_the_tool_once(
    finance_mcp: FinanceMcp, dev_server: str
) -> None:
    key = f"dagent-chat-test/{uuid.uuid4().hex}/1/call_1"
    async with McpClient(finance_mcp.url, auth=finance_mcp.token) as mcp:
        first = await mcp.call_tool("stock_price", {"ticker": "TSLA"}, meta={IDEMPOTENCY_META: key})
        again = await mcp.call_tool("stock_price", {"ticker": "TSLA"}, meta={IDEMPOTENCY_META: key})
    assert again.structured_content == first.structured_content
    # Both calls answered by one tool workflow, named after the key.
    workflow_id = f"finance-mcp-tool-{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    client = await Client.connect(dev_server, namespace=topology.FINANCE.namespace)
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("stock_prise", {"ticker": "TSLA"}, "stock_prise"),
        ("stock_price", {}, "ticker"),
        ("stock_price", {"ticker": 42}, "ticker"),
        ("calculate_roi", {"principal": "lots", "annual_rate_percent": 5, "years": 1}, "principal"),
        ("stock_price", {"ticker": "T" * 100_000}, "ticker"),
    ],
)
async def test_bad_input_is_an_error_result_and_the_server_keeps_serving(
    finance_mcp: FinanceMcp, tool: str, arguments: dict[str, object], message: str
) -> None:
    async with McpClient(finance_mcp.url, auth=finance_mcp.token) as mcp:
        with pytest.raises(ToolError, match=message):
            await mcp.call_tool(tool, arguments)
        after = await mcp.call_tool("stock_price", {"ticker": "TSLA"})
    assert after.structured_content is not None
    assert after.structured_content["ticker"] == "TSLA"


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 401),
        ({"Authorization": "Bearer {token}", "Origin": "http://evil.example"}, 403),
        ({"Authorization": "Bearer {token}", "Host": "evil.example"}, 421),
        ({"Authorization": "Bearer {token}"}, 200),
    ],
)
async def test_http_requires_a_token_and_a_local_host_and_origin(
    finance_mcp: FinanceMcp, headers: dict[str, str], status: int
) -> None:
    headers = {name: value.format(token=finance_mcp.token) for name, value in headers.items()}
    async with httpx.AsyncClient() as http:
        response = await http.post(finance_mcp.url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})
    assert response.status_code == status


MALFORMED = {
    "not-json": b"this is not json",
    "not-json-rpc": b'{"hello": "world"}',
    "unknown-method": b'{"jsonrpc": "2.0", "id": 7, "method": "tools/destroy", "params": {}}',
    "five-megabytes": b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "'
    + b"x" * 5_000_000
    + b'"}}',
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_malformed_requests_are_refused_and_the_server_keeps_serving(
    finance_mcp: FinanceMcp, case: str
) -> None:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {finance_mcp.token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(finance_mcp.url, content=MALFORMED[case], headers=headers)
        assert 400 <= response.status_code < 500, response.text[:300]
        again = await http.post(finance_mcp.url, json=INITIALIZE, headers=headers)
    assert again.status_code == 200


async def test_not_reachable_beyond_loopback(finance_mcp: FinanceMcp) -> None:
    port = int(finance_mcp.url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    outward = [
        a.address
        for addresses in psutil.net_if_addrs().values()
        for a in addresses
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]
    if not outward:
        pytest.fail("this machine has no non-loopback IPv4 address to test against")
    for address in outward:
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((address, port)) != 0, f"port {port} answers on {address}"


async def test_stdio_transport(dev_server: str, tmp_path: Path) -> None:
    """Over stdio the server acts as the login user who launched it (every scope here)."""
    ensure_local_keys(tmp_path)
    keyring.ensure(tmp_path)
    settings = DagentSettings(home=tmp_path)
    client = await connect_worker_client("it", settings, address=dev_server)
    worker = asyncio.create_task(run_worker("it", settings, client=client))
    env = {"TEMPORAL_ADDRESS": dev_server, "DAGENT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    transport = StdioTransport(
        command=sys.executable,
        args=["-m", "durable_agents_cli", "mcp", "serve", "it", "--transport", "stdio"],
        env=env,
    )
    try:
        async with McpClient(transport) as mcp:
            names = {tool.name for tool in await mcp.list_tools()}
            result = await mcp.call_tool("jira_metrics", {"project": "DEMO-456"})
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert names == {"get_ip", "jira_metrics"}
    assert result.structured_content is not None
    assert result.structured_content["project"] == "DEMO-456"


async def test_a_token_for_the_other_teams_server_is_refused(finance_mcp: FinanceMcp) -> None:
    it_token = user_token(finance_mcp.home, delegation.service_audience("it"), ["finance:read", "it:read"])
    async with httpx.AsyncClient() as http:
        response = await http.post(
            finance_mcp.url,
            json=INITIALIZE,
            headers={**MCP_HEADERS, "Authorization": f"Bearer {it_token}"},
        )
    assert response.status_code == 401


async def test_the_service_refuses_a_user_without_the_scope_and_records_it(finance_mcp: FinanceMcp) -> None:
    token = user_token(finance_mcp.home, delegation.service_audience("finance"), ["it:read"], user="bob")
    async with McpClient(finance_mcp.url, auth=token) as mcp:
        with pytest.raises(ToolError, match="bob may not use stock_price: it needs the scope finance:read"):
            await mcp.call_tool("stock_price", {"ticker": "TSLA"})
    trail = [d for d in audit.read(finance_mcp.home, ["finance"]) if d.user == "bob"]
    assert trail, "the refusal is not in the Finance audit trail"
    assert (trail[-1].tool, trail[-1].allowed, trail[-1].scope) == ("stock_price", False, "finance:read")


@pytest.mark.parametrize("reuse", ["another call", "another user"])
async def test_a_key_reused_for_anything_else_is_refused(finance_mcp: FinanceMcp, reuse: str) -> None:
    """Stripe's rule: a key names one call of one caller; anything else with it is
    refused, and never gets the first call's result."""
    key = f"dagent-chat-test/{uuid.uuid4().hex}/1/call_1"
    async with McpClient(finance_mcp.url, auth=finance_mcp.token) as mcp:
        await mcp.call_tool("stock_price", {"ticker": "TSLA"}, meta={IDEMPOTENCY_META: key})
    audience = delegation.service_audience("finance")
    token = (
        finance_mcp.token
        if reuse == "another call"
        else user_token(finance_mcp.home, audience, ["finance:read"], "mallory")
    )
    arguments = {"ticker": "AAPL"} if reuse == "another call" else {"ticker": "TSLA"}
    async with McpClient(finance_mcp.url, auth=token) as mcp:
        with pytest.raises(ToolError, match="already used for another call"):
            await mcp.call_tool("stock_price", arguments, meta={IDEMPOTENCY_META: key})
