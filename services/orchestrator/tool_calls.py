"""Running one tool call from inside a conversation workflow, whatever the pattern:
local tools as local activities, team tools as Nexus operations, each team behind
its circuit breaker. Workflow code only."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, ApplicationError, NexusOperationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from services.conversation.contract import Progress, ToolCallRecord, ToolRoute, Transport, UserMessage
    from services.failures import is_outage, not_started, outage_message, root_message, unavailable
    from services.identity.headers import call_token
    from services.orchestrator import verified
    from services.orchestrator.busy import patiently
    from services.orchestrator.circuits import Circuits
    from services.orchestrator.identity import (
        DELEGATE_RETRY,
        DELEGATE_TIMEOUT,
        DelegationActivities,
        DelegationRequest,
    )
    from services.orchestrator.memory import for_the_model
    from services.tools import labelled, unknown_tool
    from services.toolservice import policy
    from services.toolservice.contract import ToolCall, ToolOutcome, ToolService
    from services.toolservice.workflows import run_tool

# A team's handler worker picks a start up within milliseconds; one that has not
# within this long is down or stuck, and the turn should say so, not wait 30 s (unless
# the worker is only busy: see busy.py).
NEXUS_START_TIMEOUT = timedelta(seconds=6)

# How a step fails: local activities surface the activity's own ApplicationError,
# regular ones an ActivityError, Nexus calls a NexusOperationError.
STEP_FAILURES = (ActivityError, ApplicationError, NexusOperationError, TemporalTimeoutError)


@dataclass
class ToolCaller:
    """Runs the tool calls of one turn, through each service's circuit breaker."""

    routes: dict[str, ToolRoute]
    circuits: Circuits
    show: Callable[[Progress], None]
    message: UserMessage

    @property
    def message_id(self) -> str:
        return self.message.id

    async def call(
        self, name: str, arguments_json: str, step: int, call_id: str
    ) -> tuple[ToolCallRecord, str]:
        """Run the tool; return what happened and the text the model gets back."""
        arguments = _arguments(arguments_json)
        route = self.routes.get(name)
        if route is None:
            return _failed("?", name, "local", arguments, unknown_tool(name, list(self.routes)))
        remote = route.transport != "local"
        refusal = self.circuits.refusal(route.service, workflow.now()) if remote else None
        if refusal is not None:
            return _failed(route.service, name, route.transport, arguments, refusal)
        self.show(
            Progress(
                state="calling_tool",
                message_id=self.message_id,
                step=step,
                tool=name,
                service=route.service,
                transport=route.transport,
            )
        )
        # The same key on every retry of this call, across worker crashes: the tool
        # service can recognise a call it has already run.
        key = f"{workflow.info().workflow_id}/{self.message_id}/{step}/{call_id}"
        request = ToolCall(tool=name, arguments_json=arguments_json or "{}", idempotency_key=key)
        try:
            # A message with a verified sender (every message since identity exists: older
            # histories replay without one) has each call carry its own token. Set in this
            # coroutine's own context: only this call's header gets it.
            if self.message.user:
                call_token.set(await self._delegate(route, request))
            outcome = await _execute(route, request)
        except STEP_FAILURES as exc:
            reason = root_message(exc)
            if remote and is_outage(exc):
                reason = outage_message(exc, route.service)
                self.circuits.failed(route.service, workflow.now(), reason)
                reason = unavailable(route.service, reason)
            return _failed(route.service, name, route.transport, arguments, reason)
        if remote:
            self.circuits.succeeded(route.service)
        record = ToolCallRecord(
            service=route.service,
            tool=name,
            transport=route.transport,
            arguments=arguments,
            result=outcome.result,
            # Set, not defaulted: the Agents SDK plugin's converter leaves unset fields
            # off the wire, and every pattern must send the same shape.
            ok=True,
        )
        return record, for_the_model(labelled(outcome.result, name, route.service, route.transport))

    async def _delegate(self, route: ToolRoute, request: ToolCall) -> str:
        return await workflow.execute_local_activity_method(
            DelegationActivities.delegate,
            DelegationRequest(
                user=self.message.user,
                scopes=self.message.scopes,
                service=route.service,
                tool=request.tool,
                call_key=request.idempotency_key,
                arguments_json=request.arguments_json,
            ),
            start_to_close_timeout=DELEGATE_TIMEOUT,
            retry_policy=DELEGATE_RETRY,
            summary=f"identity for {request.tool}",
        )


def _failed(
    service: str, tool: str, transport: Transport, arguments: dict[str, Any], error: str
) -> tuple[ToolCallRecord, str]:
    result = {"error": error}
    record = ToolCallRecord(
        service=service, tool=tool, transport=transport, arguments=arguments, result=result, ok=False
    )
    return record, labelled(result, tool, service, transport)


async def _execute(route: ToolRoute, request: ToolCall) -> ToolOutcome:
    if route.transport == "local":
        return await run_tool(request)
    endpoint = route.endpoint
    assert endpoint is not None

    async def start(patient: bool) -> RawValue:
        client = workflow.create_nexus_client(service=ToolService, endpoint=endpoint)
        # Read raw, to see what the payload codec found: a worker on the team's queue that
        # lacks the stack's key must not get its answer to the model. (By name: given the
        # operation itself, the SDK would take the output type from its definition.)
        return await client.execute_operation(
            ToolService.execute_tool.name,
            request,
            output_type=RawValue,
            schedule_to_close_timeout=policy.CALL_TIMEOUT,
            schedule_to_start_timeout=None if patient else NEXUS_START_TIMEOUT,
            summary=request.summary(),
        )

    # Only a call no worker started is made again. A start the handler took up just as
    # the wait ran out can still start its tool workflow: the tool then runs twice (a
    # window of the handler's own few milliseconds; every dagent tool only reads).
    raw = await patiently(route.service, start, again_if=not_started)
    return verified.outcome(raw, request, route.service)


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"unparsed": raw}
    return value if isinstance(value, dict) else {"value": value}
