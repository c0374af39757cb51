"""The one table from agent pattern to conversation workflow class.

Each pattern's module is imported only when that pattern runs: the Agents SDK
patterns import `agents`, which the `nexus` pattern's worker never needs.
"""

from __future__ import annotations

import importlib

from services import topology
from services.errors import ConfigError

WORKFLOWS: dict[topology.Pattern, tuple[str, str]] = {
    "nexus": ("services.orchestrator.nexus", "NexusConversation"),
    "agents-nexus": ("services.orchestrator.agents", "AgentsConversation"),
    "mcp": ("services.orchestrator.mcp", "McpConversation"),
}


def conversation_workflow(pattern: str) -> type:
    """The workflow class that runs conversations of `pattern`."""
    if pattern not in WORKFLOWS:
        raise ConfigError(f"Unknown pattern '{pattern}'; known: {', '.join(topology.PATTERNS)}.")
    module, name = WORKFLOWS[pattern]
    workflow: type = getattr(importlib.import_module(module), name)
    return workflow
