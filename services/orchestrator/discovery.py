"""Finding the tools a conversation can use: local ones from the registry, remote ones
from each team's Nexus `list_tools`. Runs inside workflows (workflow APIs only)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services import topology
    from services.orchestrator.contract import Transport
    from services.orchestrator.endpoints import EndpointActivities
    from services.orchestrator.failures import root_message
    from services.tools import tools_of
    from services.toolservice.contract import ListToolsInput, ToolService

LIST_TOOLS_TIMEOUT = timedelta(seconds=5)


class ToolRoute(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any]
    service: str
    transport: Transport
    endpoint: str | None = None

    def function_spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class ToolCatalogResult(BaseModel):
    tools: list[ToolRoute] = Field(default_factory=list)
    # service name -> why its tools are missing
    unavailable: dict[str, str] = Field(default_factory=dict)


def local_routes() -> list[ToolRoute]:
    return [
        ToolRoute(
            name=tool.name,
            description=tool.description,
            parameters=tool.parameters_schema(),
            service="orchestrator",
            transport="local",
        )
        for tool in tools_of("orchestrator")
    ]


async def discover_mcp() -> ToolCatalogResult:
    """Local tools, and what the teams' MCP servers list (an activity: network I/O)."""
    remote: ToolCatalogResult = await workflow.execute_local_activity(
        "dagent.list_mcp_tools",
        start_to_close_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(maximum_attempts=2),
        result_type=ToolCatalogResult,
    )
    return ToolCatalogResult(tools=[*local_routes(), *remote.tools], unavailable=remote.unavailable)


async def discover(caller: str) -> ToolCatalogResult:
    """Every field is assigned, never mutated in place: the Agents SDK plugin's payload
    converter drops fields pydantic does not see as set (exclude_unset)."""
    tools = local_routes()
    unavailable: dict[str, str] = {}
    teams = list(topology.TEAMS.values())
    missing = await workflow.execute_local_activity_method(
        EndpointActivities.missing_endpoints,
        [team.nexus_endpoint for team in teams],
        start_to_close_timeout=timedelta(seconds=5),
        retry_policy=RetryPolicy(maximum_attempts=3),
    )
    for team in teams:
        if team.nexus_endpoint in missing:
            unavailable[team.name] = (
                f"Nexus endpoint '{team.nexus_endpoint}' does not exist; run 'dagent up' to create it"
            )
    present = [team for team in teams if team.nexus_endpoint not in missing]
    answers = await asyncio.gather(*(_list_tools(team, caller) for team in present), return_exceptions=True)
    for team, answer in zip(present, answers, strict=True):
        if isinstance(answer, BaseException):
            unavailable[team.name] = f"{team.name} service did not answer: {root_message(answer)}"
        else:
            tools.extend(answer)
    return ToolCatalogResult(tools=tools, unavailable=unavailable)


async def _list_tools(team: topology.Team, caller: str) -> list[ToolRoute]:
    client = workflow.create_nexus_client(service=ToolService, endpoint=team.nexus_endpoint)
    answer = await client.execute_operation(
        ToolService.list_tools,
        ListToolsInput(caller=caller),
        schedule_to_close_timeout=LIST_TOOLS_TIMEOUT,
    )
    return [
        ToolRoute(
            name=tool.name,
            description=tool.description,
            parameters=tool.parameters,
            service=team.name,
            transport="nexus",
            endpoint=team.nexus_endpoint,
        )
        for tool in answer.tools
    ]


@workflow.defn(name="dagent.ToolCatalog")
class ToolCatalogWorkflow:
    """What `dagent tools list` runs: discovery, live, through the same code as a conversation."""

    @workflow.run
    async def run(self, pattern: str = "nexus") -> ToolCatalogResult:
        if pattern == "mcp":
            return await discover_mcp()
        return await discover(workflow.info().workflow_id)
