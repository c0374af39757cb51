"""The orchestrator's own activities besides the model call: network I/O that discovery
needs. Inputs are models, so they can grow without breaking history."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest

from services import topology
from services.conversation.contract import ToolCatalogResult, ToolRoute
from services.identity import delegation
from services.tools import ToolSchema
from services.toolservice.contract import SCOPE_META

MCP_LIST_TIMEOUT = 5.0
# Every turn asks; within this many seconds one answer serves all conversations,
# so a burst of turns does not open a connection per turn.
MCP_CACHE_SECONDS = 2.0


class EndpointsQuery(BaseModel):
    names: list[str]


class McpListRequest(BaseModel):
    teams: list[str]


class EndpointActivities:
    """A workflow that calls an unknown Nexus endpoint fails its workflow task forever,
    so discovery asks first and treats a missing endpoint as an unavailable service."""

    @activity.defn(name="dagent.missing_endpoints")
    async def missing_endpoints(self, query: EndpointsQuery) -> list[str]:
        missing = []
        for name in query.names:
            found = await activity.client().operator_service.list_nexus_endpoints(
                ListNexusEndpointsRequest(name=name)
            )
            if not found.endpoints:
                missing.append(name)
        return missing


class McpCatalogActivities:
    """What the teams' MCP servers answer to `tools/list`."""

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
                if team not in self._cached or now - self._cached[team][0] > MCP_CACHE_SECONDS
            ]
            answers = await asyncio.gather(*(self._list(team) for team in stale), return_exceptions=True)
            for team, answer in zip(stale, answers, strict=True):
                if isinstance(answer, BaseException):
                    why = f"{team} MCP server at {topology.mcp_url(self.ports[team])} did not answer: "
                    if isinstance(answer, TimeoutError):
                        why += f"no answer within {MCP_LIST_TIMEOUT:g} s"
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
        from fastmcp import Client as McpClient

        async with (
            asyncio.timeout(MCP_LIST_TIMEOUT),
            McpClient(
                topology.mcp_url(self.ports[team]), auth=delegation.for_service(self.home, team)
            ) as mcp,
        ):
            listed = await mcp.list_tools()
        return [
            ToolRoute.to(
                ToolSchema(
                    name=tool.name,
                    description=tool.description or "",
                    parameters=tool.input_schema,
                    scope=str((tool.meta or {}).get(SCOPE_META, "")),
                ),
                service=team,
                transport="mcp",
            )
            for tool in listed
        ]
