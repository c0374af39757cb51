"""The activity that runs one tool of a team, inside that team's worker."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.tools import ToolInputError, get_tool
from services.toolservice.contract import ToolCall, ToolOutcome

NON_RETRYABLE = "ToolInputError"


class ToolActivities:
    def __init__(self, team: str) -> None:
        self.team = team

    @activity.defn(name="dagent.run_tool")
    async def run_tool(self, call: ToolCall) -> ToolOutcome:
        try:
            tool = get_tool(call.tool, self.team)
            result = await tool.run(call.arguments_json)
        except ToolInputError as exc:
            raise ApplicationError(str(exc), type=NON_RETRYABLE, non_retryable=True) from None
        activity.logger.info("ran %s (key %s)", call.tool, call.idempotency_key)
        return ToolOutcome(tool=call.tool, team=self.team, result=result)
