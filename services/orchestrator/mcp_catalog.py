"""A team's MCP server as the agent in a conversation workflow sees it: the tools that
dagent's discovery listed for this turn, each offered as the SDK's own MCP function
tool, and each call made through the plugin's durable proxy (`temporal_mcp_server`,
one activity per call).

The plugin caches a tool list per proxy object, so a workflow that builds its
proxies per turn lists every server on every turn, one activity after the other
(two server round trips before the model is even asked). Discovery already asks
each server every turn, from the worker, through one cache that all conversations
share; serving the list from it adds no activity, and a server's changed tools
reach the next turn once that cache has expired. The tools are given to the agent
as tools, not the server as an MCP server: the plugin's runner accepts no MCP server
type but its own. Runs inside workflows.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import AgentBase, FunctionTool, RunContextWrapper
    from agents.mcp import MCPServer, MCPUtil
    from mcp.types import CallToolResult, GetPromptResult, ListPromptsResult, Tool

    from services.conversation.contract import ToolRoute


class CatalogMcpServer(MCPServer):
    def __init__(self, team: str, routes: list[ToolRoute], proxy: MCPServer, **options: Any) -> None:
        """`options` are the SDK's per-server ones (failure text, call `_meta`): the SDK
        reads them from the server it is given, this one, not from `proxy`."""
        super().__init__(**options)
        self._team = team
        self._tools = [
            Tool(
                name=route.name,
                description=route.description,
                input_schema=route.parameters,
            )
            for route in routes
        ]
        self._proxy = proxy

    def function_tools(self) -> list[FunctionTool]:
        """The tools as the SDK makes them of any MCP server's (its call path, `_meta`
        and failure handling), without a listing."""
        return [MCPUtil.to_function_tool(tool, self, convert_schemas_to_strict=False) for tool in self._tools]

    @property
    def name(self) -> str:
        return self._team

    async def connect(self) -> None:
        pass

    async def cleanup(self) -> None:
        pass

    async def list_tools(
        self, run_context: RunContextWrapper[Any] | None = None, agent: AgentBase | None = None
    ) -> list[Tool]:
        return list(self._tools)

    @property
    def cached_tools(self) -> list[Tool] | None:
        return list(self._tools)

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        return await self._proxy.call_tool(tool_name, arguments, meta=meta)

    async def list_prompts(self) -> ListPromptsResult:
        return await self._proxy.list_prompts()

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None) -> GetPromptResult:
        return await self._proxy.get_prompt(name, arguments)
