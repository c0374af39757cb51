"""The durable tool run a Nexus `execute_tool` operation starts in the team's namespace."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.toolservice.activities import NON_RETRYABLE, ToolActivities
    from services.toolservice.contract import ToolCall, ToolOutcome

# A worker that dies holding the tool workflow's task is noticed after this long
# (default 10 s) and the task goes to the restarted worker: a killed worker costs
# a turn seconds, not the whole MCP call's budget. Longer tools are fine (the SDK
# heartbeats the task while a local activity runs).
TOOL_TASK_TIMEOUT = timedelta(seconds=3)
TOOL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=3,
    non_retryable_error_types=[NON_RETRYABLE],
)


@workflow.defn(name="dagent.ToolWorkflow")
class ToolWorkflow:
    @workflow.run
    async def run(self, call: ToolCall) -> ToolOutcome:
        # A local activity: tools are short, and skipping the activity task
        # round trip through the server takes ~15 ms off every remote tool call.
        return await workflow.execute_local_activity_method(
            ToolActivities.run_tool,
            call,
            start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=timedelta(seconds=30),
            retry_policy=TOOL_RETRY,
        )
