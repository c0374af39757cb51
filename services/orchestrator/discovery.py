"""Finding the tools a conversation can use: local ones from the registry, remote ones
from each team's Nexus `list_tools` or MCP server. Runs inside workflows (workflow APIs only)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from services import topology
    from services.conversation.contract import (
        CATALOG_WORKFLOW,
        CatalogRequest,
        ToolCatalogResult,
        ToolRoute,
    )
    from services.failures import is_outage, root_message
    from services.orchestrator import verified
    from services.orchestrator.activities import (
        EndpointActivities,
        EndpointsQuery,
        McpCatalogActivities,
        McpListRequest,
    )
    from services.orchestrator.busy import patiently, timed_out
    from services.orchestrator.circuits import Circuits
    from services.teams import tools_of
    from services.toolservice.contract import ListToolsInput, ToolService

LIST_TOOLS_TIMEOUT = timedelta(seconds=5)
# Listing again a team whose worker is busy (see busy.py).
PATIENT_LIST_TIMEOUT = timedelta(seconds=30)


def local_routes() -> list[ToolRoute]:
    return [
        ToolRoute.to(tool.describe(), service=topology.ORCHESTRATOR, transport="local")
        for tool in tools_of(topology.ORCHESTRATOR)
    ]


async def discover_mcp(circuits: Circuits, previous: ToolCatalogResult | None = None) -> ToolCatalogResult:
    """Local tools, and what the teams' MCP servers list (an activity: network I/O)."""
    asking, catalog = _behind_circuits(circuits, previous)
    try:
        remote = await workflow.execute_local_activity_method(
            McpCatalogActivities.list_mcp_tools,
            McpListRequest(teams=[team.name for team in asking]),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
    except ActivityError as exc:  # the listing itself failed: no team's tools are known now
        why = f"its MCP server's tools could not be listed: {root_message(exc)}"
        remote = ToolCatalogResult(unavailable={team.name: why for team in asking})
    tools = [*catalog.tools, *remote.tools]
    for team in asking:
        if team.name in remote.unavailable:
            circuits.failed(team.name, workflow.now(), remote.unavailable[team.name])
            tools = [*tools, *_known(previous, team.name)]
        else:
            circuits.succeeded(team.name)
    return ToolCatalogResult(tools=tools, unavailable={**catalog.unavailable, **remote.unavailable})


async def discover(
    caller: str, circuits: Circuits, previous: ToolCatalogResult | None = None, patient: bool = True
) -> ToolCatalogResult:
    """Local tools, and what each team's Nexus `list_tools` answers.

    A team whose circuit is open is not asked (that would cost the full timeout
    again); its tools from the last discovery stay listed, and calling them
    answers at once that the service is unavailable. Every field is assigned,
    never mutated in place: the Agents SDK plugin's payload converter drops
    fields pydantic does not see as set (exclude_unset). Unless not `patient` (a user
    waits on the listing alone), a busy team is asked again (busy.py).
    """
    asking, catalog = _behind_circuits(circuits, previous)
    tools, unavailable = catalog.tools, catalog.unavailable
    missing = await workflow.execute_local_activity_method(
        EndpointActivities.missing_endpoints,
        EndpointsQuery(names=[team.nexus_endpoint for team in asking]),
        start_to_close_timeout=timedelta(seconds=5),
        retry_policy=RetryPolicy(maximum_attempts=3),
    )
    for team in asking:
        if team.nexus_endpoint in missing:
            unavailable = {
                **unavailable,
                team.name: f"Nexus endpoint '{team.nexus_endpoint}' does not exist; "
                "run 'dagent up' to create it",
            }
    present = [team for team in asking if team.nexus_endpoint not in missing]
    answers = await asyncio.gather(
        *(_list_tools(team, caller, patient) for team in present), return_exceptions=True
    )
    for team, answer in zip(present, answers, strict=True):
        if isinstance(answer, BaseException):
            reason = f"{team.name} service did not answer: {root_message(answer)}"
            unavailable = {**unavailable, team.name: reason}
            tools = [*tools, *_known(previous, team.name)]
            if is_outage(answer):  # not an answer that could not be verified
                circuits.failed(team.name, workflow.now(), root_message(answer))
        else:
            tools = [*tools, *answer]
            circuits.succeeded(team.name)
    return ToolCatalogResult(tools=tools, unavailable=unavailable)


def _behind_circuits(
    circuits: Circuits, previous: ToolCatalogResult | None
) -> tuple[list[topology.Team], ToolCatalogResult]:
    """The teams to ask now, and the catalog so far: local tools, plus the last known
    tools of each team whose circuit is open (marked unavailable, with why)."""
    now = workflow.now()
    asking: list[topology.Team] = []
    tools = local_routes()
    unavailable: dict[str, str] = {}
    for team in topology.TEAMS.values():
        refusal = circuits.refusal(team.name, now)
        if refusal is None:
            asking.append(team)
            continue
        unavailable[team.name] = refusal
        tools.extend(_known(previous, team.name))
    return asking, ToolCatalogResult(tools=tools, unavailable=unavailable)


def _known(previous: ToolCatalogResult | None, team: str) -> list[ToolRoute]:
    return [route for route in previous.tools if route.service == team] if previous else []


async def _list_tools(team: topology.Team, caller: str, patient: bool) -> list[ToolRoute]:
    async def list_tools(patient: bool) -> RawValue:
        client = workflow.create_nexus_client(service=ToolService, endpoint=team.nexus_endpoint)
        # Read raw, as a tool's result is (see tool_calls._execute).
        return await client.execute_operation(
            ToolService.list_tools.name,
            ListToolsInput(caller=caller),
            output_type=RawValue,
            schedule_to_close_timeout=PATIENT_LIST_TIMEOUT if patient else LIST_TOOLS_TIMEOUT,
        )

    # A list only reads: any timeout may be followed by another listing.
    raw = await (patiently(team.name, list_tools, again_if=timed_out) if patient else list_tools(False))
    answer = verified.catalog(raw, team.name)
    return [
        ToolRoute.to(tool, service=team.name, transport="nexus", endpoint=team.nexus_endpoint)
        for tool in answer.tools
    ]


@workflow.defn(name=CATALOG_WORKFLOW)
class ToolCatalogWorkflow:
    """What `dagent tools list` runs: discovery, live, through the same code as a conversation."""

    @workflow.run
    async def run(self, request: CatalogRequest | str) -> ToolCatalogResult:
        # dagent 0.1.0 passed the bare pattern name.
        pattern = request if isinstance(request, str) else request.pattern
        if pattern in topology.MCP_PATTERNS:
            return await discover_mcp(Circuits())
        # Not patient: `dagent tools list` waits for this, and says which team is busy.
        return await discover(workflow.info().workflow_id, Circuits(), patient=False)
