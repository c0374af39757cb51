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

from typing import Any, cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, FunctionTool, RunContextWrapper, Runner, RunResult, Tool, TResponseInputItem
    from agents.exceptions import AgentsException, MaxTurnsExceeded
    from agents.mcp import MCPServer
    from temporalio.openai_agents import AgentsWorkflowError

    from services.conversation.contract import (
        WORKFLOW_TYPES,
        Progress,
        ToolCallRecord,
        ToolCatalogResult,
        ToolRoute,
        Usage,
        UserMessage,
    )
    from services.failures import root_message
    from services.identity.headers import call_token
    from services.llm.agents_model import WORKFLOW_MODEL_NAME
    from services.orchestrator.base import MAX_STEPS, Answer, Conversation, ConversationInput
    from services.orchestrator.tool_calls import STEP_FAILURES, ToolCaller

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
        caller = ToolCaller({route.name: route for route in catalog.tools}, self.circuits, self.show, message)
        own = [self._tool(route, caller, records) for route in self.function_tools(catalog)]
        mcp_tools, mcp_servers = self.mcp(catalog)
        agent: Agent[Any] = Agent(
            name="dagent",
            instructions=self.memory.instructions(catalog.unavailable),
            # MCP tools first, where the SDK puts those it lists itself.
            tools=[*mcp_tools, *own],
            mcp_servers=mcp_servers,
            model=WORKFLOW_MODEL_NAME,
        )
        if self.memory.first_question is None:
            self.memory.first_question = message.text
        user_item: dict[str, Any] = {"role": "user", "content": message.text}
        self.progress = Progress(state="thinking", message_id=message.id, step=1)
        try:
            # What the turn's MCP calls act with (set before the Runner makes its tasks,
            # which each start from a copy of this context).
            granted = call_token.set(await self.turn_grant(message))
            try:
                conversation = cast(list[TResponseInputItem], [*self.items, user_item])
                result = await Runner.run(agent, input=conversation, max_turns=MAX_STEPS)
            finally:
                call_token.reset(granted)
        except MaxTurnsExceeded:
            return self._failed(user_item, Answer.out_of_steps(records))
        except TURN_FAILURES as exc:
            return self._failed(user_item, Answer.model_failed(root_message(exc), records, 1))
        self.items = self.memory.fold_items([dict(item) for item in result.to_input_list()])
        records.extend(self.calls_on_mcp_servers(result, catalog))
        output = result.final_output
        answer = Answer.final(str(output) if output else None, records, len(result.raw_responses))
        used = result.context_wrapper.usage
        # The SDK counts tokens but carries no price: the cost is not known here.
        usage = Usage(input_tokens=used.input_tokens, output_tokens=used.output_tokens, cost=None)
        return answer.model_copy(update={"usage": usage})

    def function_tools(self, catalog: ToolCatalogResult) -> list[ToolRoute]:
        """The tools the agent calls as FunctionTools (through dagent's tool calls): all of them."""
        return catalog.tools

    def mcp(self, catalog: ToolCatalogResult) -> tuple[list[Tool], list[MCPServer]]:
        """The tools the SDK calls on MCP servers itself, and the MCP servers it lists
        them from (none: tools go through Nexus)."""
        return [], []

    async def turn_grant(self, message: UserMessage) -> str | None:
        """The grant the turn's MCP calls act with (none: no MCP server here)."""
        return None

    def calls_on_mcp_servers(self, result: RunResult, catalog: ToolCatalogResult) -> list[ToolCallRecord]:
        """Tool calls the SDK made on MCP servers itself (none here)."""
        return []

    def _failed(self, user_item: dict[str, Any], answer: Answer) -> Answer:
        assistant = {"role": "assistant", "content": answer.remembered()}
        self.items = self.memory.fold_items([*self.items, user_item, assistant])
        return answer

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
