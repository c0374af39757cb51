"""The `mcp` pattern: as `agents-nexus`, but IT and Finance tools come from the teams'
MCP servers, attached through the plugin (`temporal_mcp_server`): every MCP call is
an activity in the conversation's history. A team whose server is unavailable has
its known tools offered as FunctionTools that answer at once that it is."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from agents import RunContextWrapper, RunResult, Tool, ToolCallItem, ToolCallOutputItem
    from agents.mcp import MCPServer, MCPToolMetaContext
    from temporalio.openai_agents.workflow import temporal_mcp_server
    from temporalio.workflow import ActivityConfig

    from services import topology
    from services.conversation.contract import (
        WORKFLOW_TYPES,
        Progress,
        ToolCallRecord,
        ToolCatalogResult,
        ToolRoute,
        UserMessage,
    )
    from services.failures import causes, root_message, unavailable
    from services.orchestrator.agents import AgentsConversation
    from services.orchestrator.base import ConversationInput
    from services.orchestrator.discovery import discover_mcp
    from services.orchestrator.identity import (
        DELEGATE_RETRY,
        DELEGATE_TIMEOUT,
        DelegationActivities,
        TurnGrantRequest,
    )
    from services.orchestrator.mcp_catalog import CatalogMcpServer
    from services.tools import is_failure_text, parse_result
    from services.toolservice.contract import IDEMPOTENCY_META

# An MCP call is short: a server silent for 4 s fails it at once (the worker's
# client says so, see mcp_client), one that refuses connections is down or
# restarting and is retried for about 15 s, so a crashed server the supervisor
# restarts is used again within the same call. An attempt lost with a killed
# orchestrator ends after 5 s; the next one waits in the queue for the restarted
# worker, however slow a busy machine makes its start, up to a minute.
MCP_ACTIVITY = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=5),
    schedule_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=4),
        maximum_attempts=7,
    ),
)

# Since this patch, an MCP server's tools are the ones discovery listed for the turn
# (see mcp_catalog); a run that began before it keeps listing them through the plugin.
TOOLS_FROM_DISCOVERY = "dagent-mcp-tools-from-discovery"


@workflow.defn(name=WORKFLOW_TYPES["mcp"])
class McpConversation(AgentsConversation):
    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: ConversationInput) -> None:
        await self.loop()

    def should_rediscover(self) -> bool:
        # Each turn asks the MCP servers (a local activity; a few ms, and at most once
        # per couple of seconds for all conversations): a server that is down is left
        # out at once, and used again as soon as it answers.
        return True

    async def discover_tools(self) -> ToolCatalogResult:
        return await discover_mcp(self.circuits, self.catalog)

    def function_tools(self, catalog: ToolCatalogResult) -> list[ToolRoute]:
        return [r for r in catalog.tools if r.transport != "mcp" or r.service in catalog.unavailable]

    def mcp(self, catalog: ToolCatalogResult) -> tuple[list[Tool], list[MCPServer]]:
        teams = [team for team in topology.TEAMS if team not in catalog.unavailable]
        if not workflow.patched(TOOLS_FROM_DISCOVERY):
            # dagent 0.1.0: the plugin listed each server's tools on every turn.
            return [], [
                temporal_mcp_server(team, activity_config=MCP_ACTIVITY, **self._mcp_options(team))
                for team in teams
            ]
        tools: list[Tool] = []
        for team in teams:
            server = CatalogMcpServer(
                team,
                [route for route in catalog.tools if route.service == team and route.transport == "mcp"],
                temporal_mcp_server(team, activity_config=MCP_ACTIVITY),
                **self._mcp_options(team),
            )
            tools.extend(server.function_tools())
        return tools, []

    def _mcp_options(self, team: str) -> dict[str, Any]:
        return {"failure_error_function": self._mcp_failure(team), "tool_meta_resolver": self._mcp_meta(team)}

    def calls_on_mcp_servers(self, result: RunResult, catalog: ToolCatalogResult) -> list[ToolCallRecord]:
        # Tools of an unavailable service ran as FunctionTools and are recorded already.
        served = {r.name: r for r in catalog.tools if r.service not in catalog.unavailable}
        return mcp_calls(result.new_items, served)

    async def turn_grant(self, message: UserMessage) -> str | None:
        """A message with a verified sender gets a grant for its turn's MCP calls, minted
        in a local activity (older histories replay without one)."""
        if not message.user:
            return None
        return await workflow.execute_local_activity_method(
            DelegationActivities.delegate_turn,
            TurnGrantRequest(user=message.user, scopes=message.scopes, turn_key=turn_key(message.id)),
            start_to_close_timeout=DELEGATE_TIMEOUT,
            retry_policy=DELEGATE_RETRY,
            summary="identity for this turn's MCP calls",
        )

    def _mcp_meta(self, team: str) -> Callable[[MCPToolMetaContext], dict[str, Any]]:
        """Called by the SDK just before each MCP tool call: shows the call in the
        progress query, and sends its idempotency key as MCP `_meta` (the server runs
        the tool as a workflow with an id made from it, so a retried call finds the
        first run)."""

        def meta(context: MCPToolMetaContext) -> dict[str, Any]:
            message_id = self.progress.message_id
            self.progress = Progress(
                state="calling_tool",
                message_id=message_id,
                step=self.progress.step,
                tool=context.tool_name,
                service=team,
                transport="mcp",
            )
            call_id = getattr(context.run_context, "tool_call_id", None) or context.tool_name
            return {IDEMPOTENCY_META: f"{turn_key(message_id or '')}{call_id}"}

        return meta

    def _mcp_failure(self, team: str) -> Callable[[RunContextWrapper[Any], Exception], str]:
        """What the model reads when an MCP call failed; a call that never reached the
        server (down, silent) counts against the team's circuit."""

        def failure(_: RunContextWrapper[Any], error: Exception) -> str:
            reason = root_message(error)
            if reached_no_server(error):
                self.circuits.failed(team, workflow.now(), reason)
                reason = unavailable(team, reason)
            return json.dumps({"error": reason})

        return failure


def turn_key(message_id: str) -> str:
    """What every MCP call key of a turn starts with (the grant of the turn names it)."""
    return f"{workflow.info().workflow_id}/{message_id}/"


def reached_no_server(error: BaseException) -> bool:
    """An MCP call whose activity failed (refused, timed out), not one the server answered."""
    return any(isinstance(cause, ActivityError | TemporalTimeoutError) for cause in causes(error))


def mcp_calls(items: list[Any], routes: dict[str, ToolRoute]) -> list[ToolCallRecord]:
    """Tool calls the SDK made on MCP servers, read back from the run's items."""
    calls: dict[str, tuple[str, str]] = {}
    outputs: dict[str, Any] = {}
    for item in items:
        if isinstance(item, ToolCallItem):
            raw = item.raw_item
            name, call_id = getattr(raw, "name", None), getattr(raw, "call_id", None)
            if name and call_id and routes.get(name) and routes[name].transport == "mcp":
                calls[call_id] = (name, getattr(raw, "arguments", "{}") or "{}")
        elif isinstance(item, ToolCallOutputItem):
            raw_output = item.raw_item
            call_id = (
                raw_output.get("call_id")
                if isinstance(raw_output, dict)
                else getattr(raw_output, "call_id", None)
            )
            if call_id:
                outputs[str(call_id)] = item.output
    records = []
    for call_id, (name, arguments) in calls.items():
        result = parse_result(outputs.get(call_id, ""))
        records.append(
            ToolCallRecord(
                service=routes[name].service,
                tool=name,
                transport="mcp",
                arguments=parse_result(arguments),
                result=result,
                ok="error" not in result and not is_failure_text(result),
            )
        )
    return records
