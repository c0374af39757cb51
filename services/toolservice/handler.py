"""The Nexus handler a team's worker serves: `list_tools` and `execute_tool`."""

from __future__ import annotations

import uuid
from pathlib import Path

import nexusrpc
from nexusrpc.handler import StartOperationContext, service_handler, sync_operation
from temporalio import nexus

from services.errors import AccessDeniedError
from services.identity.headers import IDENTITY_HEADER, call_token
from services.teams import get_tool, tools_of
from services.tools import ToolInputError
from services.toolservice import access, policy
from services.toolservice.contract import ListToolsInput, ToolCall, ToolCatalog, ToolOutcome, ToolService
from services.toolservice.workflows import ToolWorkflow


@service_handler(service=ToolService)
class ToolServiceHandler:
    def __init__(self, team: str, home: Path) -> None:
        self.team = team
        self.home = home

    @sync_operation
    async def list_tools(self, ctx: StartOperationContext, request: ListToolsInput) -> ToolCatalog:
        return ToolCatalog(team=self.team, tools=[tool.describe() for tool in tools_of(self.team)])

    @nexus.workflow_run_operation
    async def execute_tool(
        self, ctx: nexus.WorkflowRunOperationContext, call: ToolCall
    ) -> nexus.WorkflowHandle[ToolOutcome]:
        # Reject what can never succeed before any workflow starts.
        try:
            get_tool(call.tool, self.team).parse(call.arguments_json)
        except ToolInputError as exc:
            raise nexusrpc.HandlerError(
                str(exc), type=nexusrpc.HandlerErrorType.BAD_REQUEST, retryable_override=False
            ) from None
        token = ctx.headers.get(IDENTITY_HEADER)
        try:
            access.decide(self.home, self.team, call, token, record_allow=False)
        except AccessDeniedError as exc:
            raise nexusrpc.HandlerError(
                str(exc), type=nexusrpc.HandlerErrorType.UNAUTHORIZED, retryable_override=False
            ) from None
        # The tool workflow starts with the same token (its header), and its activity
        # checks it again where the tool runs.
        call_token.set(token)
        return await ctx.start_workflow(
            ToolWorkflow.run,
            call,
            # The Nexus request id is stable across retries of the same start, so a
            # retried start finds the workflow it already started. A request without
            # one (an HTTP caller's) never shares a workflow with another.
            id=f"{self.team}-tool-{call.tool}-{ctx.request_id or uuid.uuid4().hex}",
            execution_timeout=policy.WORKFLOW_TIMEOUT,
            task_timeout=policy.TASK_TIMEOUT,
            static_summary=call.summary(),
        )
