"""All tools by name, and which team serves each."""

from __future__ import annotations

from services.finance.tools import TOOLS as FINANCE_TOOLS
from services.it.tools import TOOLS as IT_TOOLS
from services.orchestrator.tools import TOOLS as LOCAL_TOOLS
from services.tools.base import Tool, ToolInputError

TOOLS: dict[str, Tool] = {tool.name: tool for tool in (*LOCAL_TOOLS, *IT_TOOLS, *FINANCE_TOOLS)}


def get_tool(name: str, team: str | None = None) -> Tool:
    """The tool called `name` (owned by `team`, if given), or ToolInputError listing the known ones."""
    tool = TOOLS.get(name)
    if tool is None or (team is not None and tool.team != team):
        known = ", ".join(t.name for t in tools_of(team)) if team else ", ".join(TOOLS)
        raise ToolInputError(f"Tool '{name}' not found; known tools: {known}.")
    return tool


def tools_of(team: str | None) -> list[Tool]:
    return [tool for tool in TOOLS.values() if team is None or tool.team == team]
