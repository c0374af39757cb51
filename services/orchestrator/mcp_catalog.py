"""What the teams' MCP servers answer to `tools/list`: an activity, since it is network I/O."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from temporalio import activity

from services.orchestrator.discovery import McpListRequest, ToolCatalogResult, ToolRoute
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
        # team -> (when asked, its tools or why it did not answer)
        self._cached: dict[str, tuple[float, list[ToolRoute] | str]] = {}
        self._lock = asyncio.Lock()

    @activity.defn(name="dagent.list_mcp_tools")
    async def list_mcp_tools(self, request: McpListRequest) -> ToolCatalogResult:
        async with self._lock:
            now = time.monotonic()
            stale = [
                team
                for team in request.teams
                if team not in self._cached or now - self._cached[team][0] > CACHE_SECONDS
            ]
            answers = await asyncio.gather(*(self._list(team) for team in stale), return_exceptions=True)
            for team, answer in zip(stale, answers, strict=True):
                if isinstance(answer, BaseException):
                    why = f"{team} MCP server at {mcp_url(self.ports[team])} did not answer: "
                    if isinstance(answer, TimeoutError):
                        why += f"no answer within {LIST_TIMEOUT:g} s"
                    else:
                        why += str(answer) or type(answer).__name__
                    self._cached[team] = (now, why)
                else:
                    self._cached[team] = (now, answer)
        tools: list[ToolRoute] = []
        unavailable: dict[str, str] = {}
        for team in request.teams:
            listed = self._cached[team][1]
            if isinstance(listed, str):
                unavailable[team] = listed
            else:
                tools.extend(listed)
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
