"""What the teams' MCP servers answer to `tools/list`: an activity, since it is network I/O."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio import activity

from services import topology
from services.orchestrator.discovery import ToolCatalogResult, ToolRoute
from services.settings import mcp_token_file

LIST_TIMEOUT = 5.0


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

    @activity.defn(name="dagent.list_mcp_tools")
    async def list_mcp_tools(self) -> ToolCatalogResult:
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
