"""The activity that runs one tool of a team, inside that team's worker."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.tools import ToolInputError, get_tool
from services.toolservice.contract import ToolCall, ToolOutcome

NON_RETRYABLE = "ToolInputError"


# Far below Temporal's 2 MB payload limit: a result travels in the tool workflow's
# history, the Nexus completion and the conversation's transcript.
MAX_RESULT_CHARS = 16_000


class ToolActivities:
    def __init__(self, team: str, delays: dict[str, float] | None = None) -> None:
        self.team = team
        # Test aid (DAGENT_TEST_SLOW_TOOL): seconds a tool waits before it runs.
        self.delays = delays or {}

    @activity.defn(name="dagent.run_tool")
    async def run_tool(self, call: ToolCall) -> ToolOutcome:
        info = activity.info()
        # The key is the same on every attempt and after a crash: a repeated key in
        # this log is a retried call, not a new one.
        activity.logger.info("running %s (key %s, attempt %d)", call.tool, call.idempotency_key, info.attempt)
        try:
            tool = get_tool(call.tool, self.team)
            if call.tool in self.delays:
                await asyncio.sleep(self.delays[call.tool])
            result = await tool.run(call.arguments_json)
        except ToolInputError as exc:
            raise ApplicationError(str(exc), type=NON_RETRYABLE, non_retryable=True) from None
        return ToolOutcome(tool=call.tool, team=self.team, result=cap_result(result))


def cap_result(result: dict[str, Any]) -> dict[str, Any]:
    """The result, or a labelled preview of it when it is too large to carry."""
    text = json.dumps(result, default=str)
    if len(text) <= MAX_RESULT_CHARS:
        return result
    return {
        "truncated": f"the result was {len(text)} characters; the first {MAX_RESULT_CHARS} are kept",
        "preview": text[:MAX_RESULT_CHARS],
    }
