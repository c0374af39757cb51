"""Temporal interceptors that carry identity tokens in headers, never in payloads.

- `ClientIdentity` (a client's, in `headers`): stamps the caller's token.
- `WorkerIdentity` (a worker's): in a conversation, verifies the user's token when a
  message is offered (the update's validator, so a refused message never enters
  history) and says who asked; a workflow passes the per-call token of a tool call
  on to the local activity or Nexus operation that runs it, and a tool workflow
  the token it was started with; an activity finds its token in `call_token`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from temporalio import workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleQueryInput,
    HandleUpdateInput,
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    StartNexusOperationInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from services.errors import IdentityError
from services.identity.headers import IDENTITY_HEADER, call_token, caller, token_in, with_token
from services.identity.tokens import Principal

# How the Temporal MCP plugin names the activity of a tool call: temporalio.mcp.<server>.call-tool
MCP_ACTIVITY_PREFIX = "temporalio.mcp."
MCP_CALL_SUFFIX = ".call-tool"


class Gate(Protocol):
    """What a conversation workflow asks of identity: implemented by the orchestrator's
    worker (token verification is I/O: it must not run as workflow code)."""

    def verify(self, token: str | None) -> Principal:
        """The principal of a valid token, or IdentityError saying why not."""
        ...

    def claims_of(self, token: str | None) -> Principal | None:
        """Who an already accepted token named (on replay it may long have expired)."""
        ...


class WorkerIdentity(Interceptor):
    """`gate`: the conversation workflows' token check (the orchestrator's worker).
    `forwarding`: workflow types that run their tool with the token they were started
    with (a team's tool workflow)."""

    def __init__(self, gate: Gate | None = None, forwarding: frozenset[str] = frozenset()) -> None:
        self.gate = gate
        self.forwarding = forwarding

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return type(
            "IdentityInbound", (_WorkflowInbound,), {"gate": self.gate, "forwarding": self.forwarding}
        )


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        reset = call_token.set(token_in(input.headers))
        try:
            return await super().execute_activity(input)
        finally:
            call_token.reset(reset)


class _WorkflowInbound(WorkflowInboundInterceptor):
    gate: Gate | None = None
    forwarding: frozenset[str] = frozenset()

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self.outbound = _WorkflowOutbound(outbound)
        super().init(self.outbound)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if workflow.info().workflow_type in self.forwarding:
            self.outbound.started_with = token_in(input.headers)
        return await super().execute_workflow(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if self.gate is None:
            super().handle_update_validator(input)
            return
        with workflow.unsafe.sandbox_unrestricted():
            principal = self.gate.verify(token_in(input.headers))
        with _asking(principal):
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
        except IdentityError:  # a query without valid identity reads as nobody's
            principal = None
        with _asking(principal):
            return await super().handle_query(input)


@contextlib.contextmanager
def _asking(principal: Principal | None) -> Iterator[None]:
    """`principal` as the caller of a (synchronous or single-task) handler."""
    reset = caller.set(principal)
    try:
        yield
    finally:
        caller.reset(reset)


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    started_with: str | None = None

    def _token(self) -> str | None:
        return call_token.get() or self.started_with

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        # The mcp pattern's calls are activities of the Agents SDK plugin: they carry the
        # turn's grant to the orchestrator's MCP client, and no other activity does.
        if input.activity.startswith(MCP_ACTIVITY_PREFIX) and input.activity.endswith(MCP_CALL_SUFFIX):
            input.headers = with_token(input.headers, call_token.get())
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        input.headers = with_token(input.headers, self._token())
        return super().start_local_activity(input)

    async def start_nexus_operation(self, input: StartNexusOperationInput[Any, Any]) -> Any:
        token = self._token()
        if token:
            input.headers = {**(input.headers or {}), IDENTITY_HEADER: token}
        return await super().start_nexus_operation(input)
