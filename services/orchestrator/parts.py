"""What the orchestrator's worker runs: the pattern's conversation workflow, the tool
catalog, the model call, local tools, discovery's activities; and, for the Agents
SDK patterns, the OpenAI Agents plugin on its client."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from services import topology
from services.parts import WorkerParts
from services.settings import DagentSettings


def worker_parts(settings: DagentSettings) -> WorkerParts:
    from services.identity.interceptors import WorkerIdentity
    from services.identity.keys import ensure_local_keys
    from services.llm.activity import LlmActivities, load_litellm
    from services.orchestrator.activities import EndpointActivities, McpCatalogActivities, QueueActivities
    from services.orchestrator.discovery import ToolCatalogWorkflow
    from services.orchestrator.identity import DelegationActivities, UserGate
    from services.orchestrator.patterns import conversation_workflow
    from services.toolservice.activities import ToolActivities

    # The orchestrator mints each tool call's token: the stack's key must exist (`up`
    # makes it; a worker run on its own makes it too).
    ensure_local_keys(settings.home)
    mcp_catalog = McpCatalogActivities(settings.home, settings.mcp_ports)
    delegation = DelegationActivities(settings)
    return WorkerParts(
        workflows=[conversation_workflow(settings.pattern), ToolCatalogWorkflow],
        activities=[
            LlmActivities(settings.model, settings.model_timeout).call_llm,
            ToolActivities(topology.ORCHESTRATOR, settings.home, settings.tool_delays()).run_tool,
            delegation.delegate,
            delegation.delegate_turn,
            EndpointActivities().missing_endpoints,
            QueueActivities().service_busy,
            mcp_catalog.list_mcp_tools,
        ],
        interceptors=[WorkerIdentity(UserGate(settings))],
        # LiteLLM takes seconds to import: loaded while the worker connects and polls.
        warm_up=load_litellm,
    )


def client_options(settings: DagentSettings) -> dict[str, Any]:
    """Data converter and plugins of the orchestrator's client: the Agents SDK patterns
    run with the OpenAI Agents plugin, which brings its own (pydantic-aware) converter."""
    if settings.pattern not in topology.AGENTS_SDK_PATTERNS:
        return {}
    # Quiet and offline: no trace export unless the user configured it.
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from temporalio.converter import DataConverter
    from temporalio.openai_agents import OpenAIAgentsPlugin

    from services.llm.agents_model import ConfiguredModelProvider, model_activity_parameters

    plugin = OpenAIAgentsPlugin(
        model_params=model_activity_parameters(),
        model_provider=ConfiguredModelProvider(settings.model, settings.model_timeout),
        mcp_servers=mcp_server_factories(settings) if settings.pattern in topology.MCP_PATTERNS else None,
    )
    return {"data_converter": DataConverter.default, "plugins": [plugin]}


def mcp_server_factories(settings: DagentSettings) -> dict[str, Callable[[], Any]]:
    """How the orchestrator reaches each team's MCP server, resolved worker-side."""
    from services.orchestrator.mcp_client import TeamMcpServer

    def factory(team: str) -> Callable[[], Any]:
        return lambda: TeamMcpServer(team, settings.mcp_port(team), settings.home)

    return {team: factory(team) for team in topology.TEAMS}
