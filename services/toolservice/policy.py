"""How long a tool may run and how it is retried, wherever it runs: in a team's tool
workflow (Nexus, MCP) or as the orchestrator's local activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from services.tools import TOOL_INPUT_ERROR

# One attempt, and the whole call with its retries.
ATTEMPT_TIMEOUT = timedelta(seconds=10)
CALL_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=3,
    non_retryable_error_types=[TOOL_INPUT_ERROR],
)
# A worker that dies holding the tool workflow's task is noticed after this long
# (default 10 s) and the task goes to the restarted worker: a killed worker costs
# a turn seconds, not the whole MCP call's budget. Longer tools are fine (the SDK
# heartbeats the task while a local activity runs).
TASK_TIMEOUT = timedelta(seconds=3)
# A tool workflow a Nexus operation started: ends even if its caller is gone.
WORKFLOW_TIMEOUT = timedelta(minutes=2)
