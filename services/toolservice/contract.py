"""The Nexus contract between the orchestrator (caller) and a team (handler).

Both sides import this module and nothing else of each other.
"""

from __future__ import annotations

import json
from typing import Any

import nexusrpc
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError

from services import limits
from services.errors import UNVERIFIED_RESULT
from services.payloads import marks
from services.tools import ToolDescription

__all__ = [
    "IDEMPOTENCY_META",
    "ListToolsInput",
    "ToolCall",
    "ToolCatalog",
    "ToolDescription",
    "ToolOutcome",
    "ToolService",
    "authentic_catalog",
    "authentic_outcome",
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


# The workflow patch since which a conversation takes a team's answer only if the
# payload codec authenticated it (conversations mid-turn before it read them as before).
VERIFIED_RESULTS = "dagent-verified-results"


def authentic_outcome(
    payload: Payload, call: ToolCall, service: str, converter: PayloadConverter
) -> ToolOutcome:
    """The outcome in `payload` if the stack's own service made it for `call`; else a
    non-retryable ApplicationError that says why the result was discarded."""
    if not marks.verified(payload):
        raise _unverified(service, marks.why_unverified(payload))
    try:
        outcome = converter.from_payload(payload, ToolOutcome)
    except Exception:  # another payload of the stack's (its input echoed, say): not a result
        raise _unverified(service, "it is not a tool result") from None
    if not call.idempotency_key or outcome.call != call.idempotency_key or outcome.tool != call.tool:
        raise _unverified(service, "it answers another call")
    return outcome


def authentic_catalog(payload: Payload, team: str, converter: PayloadConverter) -> ToolCatalog:
    """The catalog in `payload` if the stack's own `team` service made it (a worker
    without the key must not plant tools, or descriptions, in the model's context)."""
    if not marks.verified(payload):
        raise _unverified(team, marks.why_unverified(payload))
    try:
        catalog = converter.from_payload(payload, ToolCatalog)
    except Exception:
        raise _unverified(team, "it is not a tool catalog") from None
    if catalog.team != team:
        raise _unverified(team, f"it lists the tools of {catalog.team!r}")
    return catalog


def _unverified(service: str, reason: str) -> ApplicationError:
    return ApplicationError(
        f"The result from the {service} service could not be verified ({reason}); it was discarded.",
        type=UNVERIFIED_RESULT,
        non_retryable=True,
    )


@nexusrpc.service(name="dagent.ToolService")
class ToolService:
    list_tools: nexusrpc.Operation[ListToolsInput, ToolCatalog]
    execute_tool: nexusrpc.Operation[ToolCall, ToolOutcome]
