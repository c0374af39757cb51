"""The `mcp` pattern's tool list, on the real dev server with the teams' real MCP servers
(in this process, so a test can change a server's tools): a turn lists no tools in its
own history, and a server's changed tools reach the model on a later turn."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from fastmcp import FastMCP
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from services import bootstrap, conversation, topology
from services.identity.acting import Acting
from services.identity.keys import ensure_local_keys
from services.payloads import keyring
from services.settings import DagentSettings
from services.toolservice import mcp_server
from services.worker import connect_worker_client, run_worker
from tests import scripted_model
from tests.helpers import free_port, front_end_client, stop_tasks

pytestmark = pytest.mark.server


@dataclass
class McpStack:
    client: Client
    servers: dict[str, FastMCP]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mcp_stack(dev_server: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[McpStack]:
    """Orchestrator (mcp pattern, scripted model), both teams' workers and their MCP servers
    over HTTP, all in this process."""
    scripted_model.register()
    home = tmp_path_factory.mktemp("mcp-catalog-home")
    ensure_local_keys(home)
    keyring.ensure(home)
    ports = {team: free_port() for team in topology.TEAMS}
    settings = DagentSettings(home=home, pattern="mcp", model=scripted_model.MODEL, mcp_ports=ports)
    tasks, servers = [], {}
    for name in topology.WORKERS:
        worker_client = await connect_worker_client(name, settings, address=dev_server)
        await bootstrap.ensure_topology(worker_client)
        tasks.append(asyncio.create_task(run_worker(name, settings, client=worker_client)))
    for team in topology.TEAMS:
        team_client = await mcp_server.connect(team, home, address=dev_server)
        servers[team] = mcp_server.build_server(topology.TEAMS[team], team_client, home, http=True)
        tasks.append(
            asyncio.create_task(
                servers[team].run_http_async(show_banner=False, host=topology.LOOPBACK, port=ports[team])
            )
        )
        await _serving(topology.mcp_url(ports[team]))
    client = await front_end_client(dev_server, home, Acting(settings).token)
    try:
        yield McpStack(client, servers)
    finally:
        await stop_tasks(tasks)


async def _serving(url: str) -> None:
    async with httpx.AsyncClient() as http:
        while True:
            try:
                await http.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)


async def _scheduled_activities(client: Client, session: str) -> list[str]:
    handle = client.get_workflow_handle(f"dagent-chat-{session}")
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def _ask(stack: McpStack, session: str, text: str) -> list[str]:
    """Send `text`; the tools the model was offered for it."""
    offered_before = len(scripted_model.OFFERED)
    await conversation.send(stack.client, session, text, pattern="mcp")
    return scripted_model.OFFERED[offered_before]


async def test_a_turn_lists_no_tools_in_its_history(mcp_stack: McpStack) -> None:
    """Discovery asks the servers from the worker; the plugin's list-tools activities
    (two round trips per turn, one after the other) no longer run."""
    session = f"catalog-{uuid.uuid4().hex[:8]}"
    for text in ("hello", "and again"):
        offered = await _ask(mcp_stack, session, text)
        assert {"get_ip", "jira_metrics", "stock_price", "calculate_roi", "calculator"} <= set(offered)
    activities = await _scheduled_activities(mcp_stack.client, session)
    assert not [name for name in activities if "list-tools" in name or "list_tools" in name], activities


async def test_a_servers_changed_tools_reach_the_model(mcp_stack: McpStack) -> None:
    session = f"catalog-{uuid.uuid4().hex[:8]}"
    assert "calculate_roi" in await _ask(mcp_stack, session, "hello")

    def market_news(ticker: str) -> str:
        """Sample headlines for a ticker."""
        return f"No news for {ticker} (sample data)."

    finance = mcp_stack.servers["finance"]
    finance.local_provider.remove_tool("calculate_roi")
    finance.add_tool(market_news)
    # The worker's list is shared by every conversation for a moment; a later turn has
    # the server's new tools, in the same session and run.
    for _ in range(300):
        offered = await _ask(mcp_stack, session, "anything new?")
        if "market_news" in offered:
            break
        await asyncio.sleep(0.2)
    assert "market_news" in offered
    assert "calculate_roi" not in offered
    assert "stock_price" in offered
