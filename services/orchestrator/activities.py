"""The orchestrator's own activities besides the model call: network I/O that discovery
needs. Inputs are models, so they can grow without breaking history."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.service import RPCError

from services import topology
from services.conversation.contract import ToolCatalogResult, ToolRoute
from services.identity import delegation
from services.orchestrator.liveness import PING_SECONDS, answers
from services.tools import ToolSchema
from services.toolservice.contract import SCOPE_META

logger = logging.getLogger("dagent.discovery")

MCP_LIST_TIMEOUT = 5.0
# Every turn asks; within this many seconds one answer serves all conversations,
# so a burst of turns does not open a connection per turn.
MCP_CACHE_SECONDS = 2.0


class EndpointsQuery(BaseModel):
    names: list[str]


class McpListRequest(BaseModel):
    teams: list[str]


class ServiceQuery(BaseModel):
    team: str
    # Busy means a worker asked for a task after this (the server's clock).
    since: datetime


class EndpointActivities:
    """A workflow that calls an unknown Nexus endpoint fails its workflow task forever,
    so discovery asks first and treats a missing endpoint as an unavailable service."""

    @activity.defn(name="dagent.missing_endpoints")
    async def missing_endpoints(self, query: EndpointsQuery) -> list[str]:
        operator = activity.client().operator_service
        # Asked at once: this is on the way of every new conversation's first turn.
        found = await asyncio.gather(
            *(operator.list_nexus_endpoints(ListNexusEndpointsRequest(name=name)) for name in query.names)
        )
        return [name for name, answer in zip(query.names, found, strict=True) if not answer.endpoints]


class QueueActivities:
    """Tells a service that is busy from one that is down, by asking the server when a
    worker last asked for a task from the team's Nexus queue: one that works through a
    backlog asks again as soon as it has a free slot; one that is gone, frozen or stuck
    has not asked for a while (busy.py says how long)."""

    @activity.defn(name="dagent.service_busy")
    async def service_busy(self, query: ServiceQuery) -> bool:
        team = topology.TEAMS[query.team]
        try:
            described = await activity.client().workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=team.namespace,
                    task_queue=TaskQueue(name=team.task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_NEXUS,
                )
            )
        except RPCError:  # not allowed to look (another namespace's permissions): as before
            return False
        return any(poller.last_access_time.ToDatetime(UTC) > query.since for poller in described.pollers)


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
            listings = await asyncio.gather(*(self._list(team) for team in stale), return_exceptions=True)
            for team, answer in zip(stale, listings, strict=True):
                # Stamped when the answer came: conversations that waited for this lock
                # meanwhile use it rather than ask again, one after the other.
                if isinstance(answer, BaseException):
                    self._cached[team] = (time.monotonic(), await self._not_listed(team, answer))
                else:
                    self._cached[team] = (time.monotonic(), answer)
        tools: list[ToolRoute] = []
        unavailable: dict[str, str] = {}
        for team in request.teams:
            listed = self._cached[team][1]
            if isinstance(listed, str):
                unavailable[team] = listed
            else:
                tools.extend(listed)
        return ToolCatalogResult(tools=tools, unavailable=unavailable)

    async def _not_listed(self, team: str, error: BaseException) -> list[ToolRoute] | str:
        """What a server that did not list its tools now counts as having: its last known
        tools while it is busy, else why it is unavailable."""
        url = topology.mcp_url(self.ports[team])
        known = self._cached.get(team, (0.0, ""))[1]
        busy = isinstance(error, TimeoutError) and not isinstance(known, str)
        if busy and await answers(url, PING_SECONDS):
            # Busy (with our own calls, most likely), not down: its tools stay listed.
            logger.info("%s MCP server is busy: using its tools as last listed", team)
            return known
        why = f"{team} MCP server at {url} did not answer: "
        if isinstance(error, TimeoutError):
            return why + f"no answer within {MCP_LIST_TIMEOUT:g} s"
        return why + (str(error) or type(error).__name__)

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
