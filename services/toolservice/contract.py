"""The Nexus contract between the orchestrator (caller) and a team (handler).

Both sides import this module and nothing else of each other.
"""

from __future__ import annotations

import json
from typing import Any

import nexusrpc
from pydantic import BaseModel, Field

from services import limits
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
# The scope a tool needs, in the `_meta` of its MCP tool listing.
SCOPE_META = "dagent/scope"


class ListToolsInput(BaseModel):
    caller: str = ""


class ToolCatalog(BaseModel):
    team: str
    tools: list[ToolDescription]


# What the Web UI shows of a call, at most (it lists them one per line).
SUMMARY_CHARS = 120


class ToolCall(BaseModel):
    tool: str
    # A JSON object as text: each tool has its own schema, and the contract
    # must not pin one.
    arguments_json: str = "{}"
    # Workflow id + step of the caller: recognises a retried call after a crash.
    idempotency_key: str = ""

    def summary(self) -> str:
        """How the call reads in the Web UI, e.g. 'stock_price TSLA for dagent-chat-a1812b81b8d6'
        (the caller is the first part of the idempotency key)."""
        try:
            arguments = json.loads(self.arguments_json)
        except ValueError:
            arguments = self.arguments_json
        values = " ".join(map(str, arguments.values())) if isinstance(arguments, dict) else str(arguments)
        caller = self.idempotency_key.split("/", 1)[0]
        text = f"{self.tool} {values}".strip() + (f" for {caller}" if caller else "")
        return limits.flat(text, SUMMARY_CHARS)


class ToolOutcome(BaseModel):
    tool: str
    team: str
    result: dict[str, Any] = Field(default_factory=dict)
    # The idempotency key of the call this answers: sealed with the result by the
    # payload codec, so another call's genuine result cannot be passed off as this one's.
    call: str = ""


@nexusrpc.service(name="dagent.ToolService")
class ToolService:
    list_tools: nexusrpc.Operation[ListToolsInput, ToolCatalog]
    execute_tool: nexusrpc.Operation[ToolCall, ToolOutcome]
