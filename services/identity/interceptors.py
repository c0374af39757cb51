"""Temporal interceptors that carry identity tokens in headers, never in payloads.

- `ClientIdentity` (a client's, in `headers`): stamps the caller's token.
- `WorkerIdentity` (a worker's): in a conversation, verifies the user's token when a
  message is offered (the update's validator, so a refused message never enters
  history) and says who asked; a workflow passes the per-call token of a tool call
  on to the local activity or Nexus operation that runs it, and a tool workflow
  the token it was started with; an activity finds its token in `call_token`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleQueryInput,
    HandleUpdateInput,
    Interceptor,
    StartLocalActivityInput,
    StartNexusOperationInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from services.identity.headers import IDENTITY_HEADER, call_token, caller, token_in, with_token
from services.identity.tokens import Principal


class Gate:
    """What a conversation workflow asks of identity: implemented by the orchestrator's
    worker (token verification is I/O: it must not run as workflow code)."""

    def verify(self, token: str | None) -> Principal:
        raise NotImplementedError

    def claims_of(self, token: str | None) -> Principal | None:
        """Who an already accepted token named (on replay it may long have expired)."""
        raise NotImplementedError


class WorkerIdentity(Interceptor):
    def __init__(self, gate: Gate | None = None) -> None:
        self.gate = gate

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return type("IdentityInbound", (_WorkflowInbound,), {"gate": self.gate})


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        reset = call_token.set(token_in(input.headers))
        try:
            return await super().execute_activity(input)
        finally:
            call_token.reset(reset)


class _WorkflowInbound(WorkflowInboundInterceptor):
    gate: Gate | None = None

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self.outbound = _WorkflowOutbound(outbound)
        super().init(self.outbound)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        # A tool workflow runs its tool with the token it was started with.
        self.outbound.started_with = token_in(input.headers)
        return await super().execute_workflow(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if self.gate is not None:
            with workflow.unsafe.sandbox_unrestricted():
                principal = self.gate.verify(token_in(input.headers))
            reset = caller.set(principal)
            try:
                super().handle_update_validator(input)
            finally:
                caller.reset(reset)
            return
        super().handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        if self.gate is not None:
            # Verified by the validator when it was accepted (validators are not run
            # again on replay, by which time the token may have expired).
            caller.set(self.gate.claims_of(token_in(input.headers)))
        return await super().handle_update_handler(input)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        if self.gate is None:
            return await super().handle_query(input)
        try:
            with workflow.unsafe.sandbox_unrestricted():
                principal: Principal | None = self.gate.verify(token_in(input.headers))
        except Exception:
            principal = None
        reset = caller.set(principal)
        try:
            return await super().handle_query(input)
        finally:
            caller.reset(reset)


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    started_with: str | None = None

    def _token(self) -> str | None:
        return call_token.get() or self.started_with

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        input.headers = with_token(input.headers, self._token())
        return super().start_local_activity(input)

    async def start_nexus_operation(self, input: StartNexusOperationInput[Any, Any]) -> Any:
        token = self._token()
        if token:
            input.headers = {**(input.headers or {}), IDENTITY_HEADER: token}
        return await super().start_nexus_operation(input)
