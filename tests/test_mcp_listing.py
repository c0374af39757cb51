"""The orchestrator's listing of an MCP server's tools when the server is slow to list:
alive but busy keeps its last known tools; silent is unavailable. Against local HTTP
servers that never answer the MCP request (one still answers a plain GET)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from services.conversation.contract import ToolRoute
from services.identity.keys import ensure_local_keys
from services.orchestrator import activities
from services.orchestrator.activities import McpCatalogActivities, McpListRequest
from services.tools import ToolSchema

KNOWN = ToolRoute.to(
    ToolSchema(name="stock_price", description="A quote.", parameters={"type": "object"}),
    service="finance",
    transport="mcp",
)


async def _server(answers_get: bool) -> tuple[asyncio.Server, int]:
    """Reads each request; answers a GET (if told to) and leaves every other one hanging."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await reader.readline()
        if answers_get and request_line.startswith(b"GET"):
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        await asyncio.sleep(3600)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
def quick_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing given up on sooner; the plain request keeps its own, generous, wait."""
    monkeypatch.setattr(activities, "MCP_LIST_TIMEOUT", 0.5)


@pytest.fixture
async def listing(
    tmp_path: Path, quick_listing: None
) -> AsyncIterator[Callable[[bool], Awaitable[McpCatalogActivities]]]:
    ensure_local_keys(tmp_path)
    servers: list[asyncio.Server] = []

    async def make(answers_get: bool) -> McpCatalogActivities:
        server, port = await _server(answers_get)
        servers.append(server)
        catalog = McpCatalogActivities(tmp_path, {"finance": port})
        # Listed once before, long enough ago to be asked again.
        catalog._cached["finance"] = (0.0, [KNOWN])
        return catalog

    yield make
    for server in servers:
        server.close()


Listing = Callable[[bool], Awaitable[McpCatalogActivities]]


async def test_a_busy_server_keeps_its_last_known_tools(listing: Listing) -> None:
    catalog = await listing(True)
    result = await catalog.list_mcp_tools(McpListRequest(teams=["finance"]))
    assert result.unavailable == {}
    assert [tool.name for tool in result.tools] == ["stock_price"]


async def test_a_silent_server_is_unavailable(listing: Listing) -> None:
    catalog = await listing(False)
    result = await catalog.list_mcp_tools(McpListRequest(teams=["finance"]))
    assert result.tools == []
    assert "did not answer" in result.unavailable["finance"]
