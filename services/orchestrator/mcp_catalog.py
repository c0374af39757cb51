"""What the teams' MCP servers answer to `tools/list`: an activity, since it is network I/O."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from temporalio import activity

from services import topology
from services.orchestrator.discovery import ToolCatalogResult, ToolRoute
from services.settings import mcp_token_file

LIST_TIMEOUT = 5.0
# Every turn asks; within this many seconds one answer serves all conversations,
# so a burst of turns does not open a connection per turn.
CACHE_SECONDS = 2.0


def mcp_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/mcp"


def mcp_token(home: Path) -> str:
    try:
        return mcp_token_file(home).read_text().strip()
    except OSError:
        return ""


class McpCatalogActivities:
    def __init__(self, home: Path, ports: dict[str, int]) -> None:
        self.home = home
        self.ports = ports
        self._cached: tuple[float, ToolCatalogResult] | None = None
        self._lock = asyncio.Lock()

    @activity.defn(name="dagent.list_mcp_tools")
    async def list_mcp_tools(self) -> ToolCatalogResult:
        async with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > CACHE_SECONDS:
                self._cached = (now, await self._list_all())
            return self._cached[1]

    async def _list_all(self) -> ToolCatalogResult:
        teams = list(topology.TEAMS)
        answers = await asyncio.gather(*(self._list(team) for team in teams), return_exceptions=True)
        tools: list[ToolRoute] = []
        unavailable: dict[str, str] = {}
        for team, answer in zip(teams, answers, strict=True):
            if isinstance(answer, BaseException):
                url = mcp_url(self.ports[team])
                unavailable[team] = (
                    f"{team} MCP server at {url} did not answer: {answer or type(answer).__name__}"
                )
            else:
                tools.extend(answer)
        return ToolCatalogResult(tools=tools, unavailable=unavailable)

    async def _list(self, team: str) -> list[ToolRoute]:
        from fastmcp import Client

        async with (
            asyncio.timeout(LIST_TIMEOUT),
            Client(mcp_url(self.ports[team]), auth=mcp_token(self.home)) as mcp,
        ):
            listed = await mcp.list_tools()
        return [
            ToolRoute(
                name=tool.name,
                description=tool.description or "",
                parameters=tool.input_schema,
                service=team,
                transport="mcp",
            )
            for tool in listed
        ]
