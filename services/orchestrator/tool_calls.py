"""Running one tool call from inside a conversation workflow, whatever the pattern:
local tools as local activities, team tools as Nexus operations. Workflow code only."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, NexusOperationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from services.orchestrator.contract import Progress, ToolCallRecord
    from services.orchestrator.discovery import ToolRoute
    from services.orchestrator.failures import root_message
    from services.orchestrator.memory import truncate
    from services.toolservice.activities import ToolActivities
    from services.toolservice.contract import ToolCall, ToolOutcome, ToolService
    from services.toolservice.workflows import TOOL_RETRY

TOOL_TIMEOUT = timedelta(seconds=30)

# How a step fails: local activities surface the activity's own ApplicationError,
# regular ones an ActivityError, Nexus calls a NexusOperationError.
STEP_FAILURES = (ActivityError, ApplicationError, NexusOperationError, TemporalTimeoutError)


async def call_tool(
    routes: dict[str, ToolRoute],
    name: str,
    arguments_json: str,
    idempotency_key: str,
    show: Callable[[Progress], None],
    message_id: str,
    step: int,
) -> tuple[ToolCallRecord, str]:
    """Run the tool; return what happened and the text the model gets back."""
    arguments = _arguments(arguments_json)
    route = routes.get(name)
    if route is None:
        known = ", ".join(routes) or "none"
        result: dict[str, Any] = {"error": f"Tool '{name}' not found; known tools: {known}."}
        record = ToolCallRecord(
            service="?", tool=name, transport="local", arguments=arguments, result=result, ok=False
        )
        return record, json.dumps(result)
    show(
        Progress(
            state="calling_tool",
            message_id=message_id,
            step=step,
            tool=name,
            service=route.service,
            transport=route.transport,
        )
    )
    request = ToolCall(tool=name, arguments_json=arguments_json or "{}", idempotency_key=idempotency_key)
    try:
        outcome = await _execute(route, request)
        result, ok = outcome.result, True
    except STEP_FAILURES as exc:
        result, ok = {"error": root_message(exc)}, False
    record = ToolCallRecord(
        service=route.service, tool=name, transport=route.transport, arguments=arguments, result=result, ok=ok
    )
    return record, truncate(json.dumps(result))


async def _execute(route: ToolRoute, request: ToolCall) -> ToolOutcome:
    if route.transport == "local":
        return await workflow.execute_local_activity_method(
            ToolActivities.run_tool,
            request,
            start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=TOOL_TIMEOUT,
            retry_policy=TOOL_RETRY,
        )
    assert route.endpoint is not None
    client = workflow.create_nexus_client(service=ToolService, endpoint=route.endpoint)
    return await client.execute_operation(
        ToolService.execute_tool, request, schedule_to_close_timeout=TOOL_TIMEOUT
    )


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"unparsed": raw}
    return value if isinstance(value, dict) else {"value": value}
