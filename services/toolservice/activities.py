"""The activity that runs one tool of a service, inside that service's worker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from opentelemetry import trace
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services import limits
from services.errors import ACCESS_DENIED, AccessDeniedError
from services.identity.headers import call_token
from services.teams import get_tool
from services.telemetry import metrics
from services.tools import TOOL_INPUT_ERROR, Tool, ToolInputError
from services.toolservice import access
from services.toolservice.contract import ToolCall, ToolOutcome


class ToolActivities:
    def __init__(self, team: str, home: Path, delays: dict[str, float] | None = None) -> None:
        self.team = team
        self.home = home
        # Test aid (DAGENT_TEST_SLOW_TOOL): seconds a tool waits before it runs.
        self.delays = delays or {}

    @activity.defn(name="dagent.run_tool")
    async def run_tool(self, call: ToolCall) -> ToolOutcome:
        info = activity.info()
        # On the activity's span (the tool's, in the turn's trace): which tool, whose.
        trace.get_current_span().set_attributes({"dagent.tool": call.tool, "dagent.service": self.team})
        # The key is the same on every attempt and after a crash: a repeated key in
        # this log is a retried call, not a new one.
        activity.logger.info("running %s (key %s, attempt %d)", call.tool, call.idempotency_key, info.attempt)
        try:
            tool = get_tool(call.tool, self.team)
        except ToolInputError as exc:
            raise ApplicationError(str(exc), type=TOOL_INPUT_ERROR, non_retryable=True) from None
        # Counted under its name once it is known to be a tool (never a name the model made up).
        with metrics.timed(metrics.TOOL_RUNS, metrics.TOOL_RUN_SECONDS, self.team, call.tool):
            result = await self._run(tool, call)
        return ToolOutcome(
            tool=call.tool, team=self.team, result=cap_result(result), call=call.idempotency_key
        )

    async def _run(self, tool: Tool, call: ToolCall) -> dict[str, Any]:
        # The service decides, here where the tool runs, whoever started this run.
        try:
            access.decide(self.home, self.team, call, call_token.get())
        except AccessDeniedError as exc:
            raise ApplicationError(str(exc), type=ACCESS_DENIED, non_retryable=True) from None
        try:
            if call.tool in self.delays:
                await asyncio.sleep(self.delays[call.tool])
            return await tool.run(call.arguments_json)
        except ToolInputError as exc:
            raise ApplicationError(str(exc), type=TOOL_INPUT_ERROR, non_retryable=True) from None


def cap_result(result: dict[str, Any]) -> dict[str, Any]:
    """The result, or a labelled preview of it when it is too large to carry."""
    text = json.dumps(result, default=str)
    if len(text) <= limits.MAX_TOOL_RESULT_CHARS:
        return result
    kept = limits.MAX_TOOL_RESULT_CHARS
    return {
        "truncated": f"the result was {len(text)} characters; the first {kept} are kept",
        "preview": limits.cut(text, kept, ""),
    }
