"""The Nexus contract between the orchestrator (caller) and a team (handler).

Both sides import this module and nothing else of each other.
"""

from __future__ import annotations

from typing import Any

import nexusrpc
from pydantic import BaseModel, Field

from services.tools import ToolDescription

__all__ = [
    "IDEMPOTENCY_META",
    "ListToolsInput",
    "ToolCall",
    "ToolCatalog",
    "ToolDescription",
    "ToolOutcome",
    "ToolService",
]

# Where an MCP client puts a call's idempotency key in the request's `_meta`.
IDEMPOTENCY_META = "dagent/idempotency-key"


class ListToolsInput(BaseModel):
    caller: str = ""


class ToolCatalog(BaseModel):
    team: str
    tools: list[ToolDescription]


class ToolCall(BaseModel):
    tool: str
    # A JSON object as text: each tool has its own schema, and the contract
    # must not pin one.
    arguments_json: str = "{}"
    # Workflow id + step of the caller: recognises a retried call after a crash.
    idempotency_key: str = ""


class ToolOutcome(BaseModel):
    tool: str
    team: str
    result: dict[str, Any] = Field(default_factory=dict)


@nexusrpc.service(name="dagent.ToolService")
class ToolService:
    list_tools: nexusrpc.Operation[ListToolsInput, ToolCatalog]
    execute_tool: nexusrpc.Operation[ToolCall, ToolOutcome]
