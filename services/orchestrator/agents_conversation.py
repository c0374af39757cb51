"""The `agents-nexus` pattern: the OpenAI Agents SDK `Runner` inside the conversation
workflow (Temporal's OpenAI Agents plugin makes each model call an activity).

Every tool (local or a team's) is a FunctionTool built from what discovery
found, so the model sees each tool's own name, description and parameters;
invoking it runs the same durable call as the `nexus` pattern (local activity,
or the team's `execute_tool` Nexus operation). The SDK's conversation items are
the memory, carried from turn to turn and across continue-as-new.

Kept apart from the `nexus` pattern's module: this one imports `agents`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from agents import (
        Agent,
        FunctionTool,
        RunContextWrapper,
        Runner,
        ToolCallItem,
        ToolCallOutputItem,
        TResponseInputItem,
    )
    from agents.exceptions import AgentsException, MaxTurnsExceeded
    from agents.mcp import MCPToolMetaContext
    from temporalio.openai_agents import AgentsWorkflowError
    from temporalio.openai_agents.workflow import temporal_mcp_server
    from temporalio.workflow import ActivityConfig

    from services import topology
    from services.orchestrator.agents_model import WORKFLOW_MODEL_NAME
    from services.orchestrator.contract import WORKFLOW_TYPES, Progress, ToolCallRecord, UserMessage
    from services.orchestrator.discovery import ToolCatalogResult, ToolRoute, discover_mcp
    from services.orchestrator.failures import causes, root_message
    from services.orchestrator.memory import SYSTEM_PROMPT, fold_items
    from services.orchestrator.planner import is_failure_text
    from services.orchestrator.planner import parse_result as tool_result
    from services.orchestrator.session import Answer, Conversation, ConversationInput
    from services.orchestrator.tool_calls import STEP_FAILURES, ToolCaller
    from services.toolservice.contract import IDEMPOTENCY_META

MAX_STEPS = 8
# An MCP call is short: a server that has not answered within 5 s is stuck, one that
# refuses connections is down or restarting. Retried for 12 s in all, so a crashed
# server the supervisor restarts is used again within the same call, and a turn
# that needs a silent server still answers within 15 s that it is unavailable.
MCP_ACTIVITY = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=5),
    schedule_to_close_timeout=timedelta(seconds=12),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=2),
        maximum_attempts=6,
    ),
)
TURN_FAILURES = (AgentsException, AgentsWorkflowError, *STEP_FAILURES)


@workflow.defn(name=WORKFLOW_TYPES["agents-nexus"])
class AgentsConversation(Conversation):
    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: ConversationInput) -> None:
        await self.loop()

    async def answer(self, message: UserMessage, catalog: ToolCatalogResult) -> Answer:
        records: list[ToolCallRecord] = []
        routes = {route.name: route for route in catalog.tools}
        caller = ToolCaller(routes, self.circuits, self._show, message.id)
        # MCP tools reach the agent through its MCP servers, except a service whose
        # server is unavailable: its known tools answer at once that it is.
        tools = [
            self._tool(route, caller, records)
            for route in catalog.tools
            if route.transport != "mcp" or route.service in catalog.unavailable
        ]
        summary = self.memory.summary()
        agent: Agent[Any] = Agent(
            name="dagent",
            instructions=SYSTEM_PROMPT + (f"\n\n{summary}" if summary else ""),
            tools=list(tools),
            mcp_servers=self.mcp_servers(),
            model=WORKFLOW_MODEL_NAME,
        )
        if self.memory.first_question is None:
            self.memory.first_question = message.text
        user_item: dict[str, Any] = {"role": "user", "content": message.text}
        self.progress = Progress(state="thinking", message_id=message.id, step=1)
        try:
            conversation = cast(list[TResponseInputItem], [*self.items, user_item])
            result = await Runner.run(agent, input=conversation, max_turns=MAX_STEPS)
        except MaxTurnsExceeded:
            text = (
                f"I stopped after {MAX_STEPS} steps without reaching an answer; "
                "please rephrase or narrow the question."
            )
            return self._failed(user_item, text, records, MAX_STEPS)
        except TURN_FAILURES as exc:
            return self._failed(user_item, f"The model could not answer: {root_message(exc)}", records, 1)
        self.items = fold_items([dict(item) for item in result.to_input_list()], self.memory)
        # Tools of an unavailable service ran as FunctionTools and are recorded already.
        served = {name: r for name, r in routes.items() if r.service not in catalog.unavailable}
        records.extend(mcp_calls(result.new_items, served))
        steps = len(result.raw_responses)
        return Answer(
            text=str(result.final_output or "(the model returned an empty answer)"),
            tool_calls=records,
            steps=steps,
        )

    def mcp_servers(self) -> list[Any]:
        """The MCP servers the agent talks to directly (none: tools go through Nexus)."""
        return []

    def _failed(
        self, user_item: dict[str, Any], text: str, records: list[ToolCallRecord], steps: int
    ) -> Answer:
        assistant = {"role": "assistant", "content": text}
        self.items = fold_items([*self.items, user_item, assistant], self.memory)
        return Answer(text=text, tool_calls=records, steps=steps, error=True)

    def _tool(self, route: ToolRoute, caller: ToolCaller, records: list[ToolCallRecord]) -> FunctionTool:
        async def invoke(_: RunContextWrapper[Any], arguments: str) -> str:
            step = len(records) + 1
            record, content = await caller.call(route.name, arguments, step, route.name)
            records.append(record)
            self.progress = Progress(state="thinking", message_id=caller.message_id, step=step + 1)
            return content

        return FunctionTool(
            name=route.name,
            description=route.description,
            params_json_schema=route.parameters,
            on_invoke_tool=invoke,
            strict_json_schema=False,
        )

    def _show(self, progress: Progress) -> None:
        self.progress = progress


@workflow.defn(name=WORKFLOW_TYPES["mcp"])
class McpConversation(AgentsConversation):
    """The `mcp` pattern: as `agents-nexus`, but IT and Finance tools come from the
    teams' MCP servers, attached through the plugin (`temporal_mcp_server`): the tool
    list is cached in the workflow and every MCP call is an activity in its history."""

    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: ConversationInput) -> None:
        await self.loop()

    def should_rediscover(self) -> bool:
        # Each turn asks the MCP servers (a local activity, a few ms): a server that
        # is down is left out at once, and used again as soon as it answers.
        return True

    async def discover_tools(self) -> ToolCatalogResult:
        return await discover_mcp(self.circuits, self.catalog)

    def mcp_servers(self) -> list[Any]:
        unavailable = self.catalog.unavailable if self.catalog else {}
        return [
            temporal_mcp_server(
                team,
                activity_config=MCP_ACTIVITY,
                failure_error_function=self._mcp_failure(team),
                tool_meta_resolver=self._mcp_meta(team),
            )
            for team in topology.TEAMS
            if team not in unavailable
        ]

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
            return {IDEMPOTENCY_META: f"{workflow.info().workflow_id}/{message_id}/{call_id}"}

        return meta

    def _mcp_failure(self, team: str) -> Callable[[RunContextWrapper[Any], Exception], str]:
        """What the model reads when an MCP call failed; a call that never reached the
        server (down, silent) counts against the team's circuit."""

        def failure(_: RunContextWrapper[Any], error: Exception) -> str:
            reason = root_message(error)
            if reached_no_server(error):
                self.circuits.failed(team, workflow.now(), reason)
                reason = f"The {team} service is unavailable: {reason}"
            return json.dumps({"error": reason})

        return failure


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
        result = tool_result(outputs.get(call_id, ""))
        records.append(
            ToolCallRecord(
                service=routes[name].service,
                tool=name,
                transport="mcp",
                arguments=tool_result(arguments),
                result=result,
                ok="error" not in result and not is_failure_text(result),
            )
        )
    return records
