"""All tools by name, and which service serves each: the orchestrator's own tools
(`local`) and each team's (the module named after the team in `topology.TEAMS`)."""

from __future__ import annotations

import importlib

from services import topology
from services.teams import local
from services.tools import Tool, ToolInputError, unknown_tool


def _team_tools(team: str) -> list[Tool]:
    module = importlib.import_module(f"services.teams.{team}")
    tools: list[Tool] = module.TOOLS
    wrong = [tool.name for tool in tools if tool.team != team]
    if wrong:
        raise ImportError(f"services/teams/{team}.py lists tools of another team: {', '.join(wrong)}")
    return tools


TOOLS: dict[str, Tool] = {
    tool.name: tool for tool in (*local.TOOLS, *(t for team in topology.TEAMS for t in _team_tools(team)))
}


# Every scope some tool needs: what a user can be given.
SCOPES: list[str] = sorted({tool.scope for tool in TOOLS.values()})


def get_tool(name: str, team: str | None = None) -> Tool:
    """The tool called `name` (owned by `team`, if given), or ToolInputError listing the known ones."""
    tool = TOOLS.get(name)
    if tool is None or (team is not None and tool.team != team):
        known = [t.name for t in tools_of(team)] if team else list(TOOLS)
        raise ToolInputError(unknown_tool(name, known))
    return tool


def tools_of(team: str | None) -> list[Tool]:
    return [tool for tool in TOOLS.values() if team is None or tool.team == team]
