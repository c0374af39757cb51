"""The tools of every service: the orchestrator's own (`local`) and one module per
team, named after it in `services.topology`. Each tool is defined once here and
served over whichever transport the pattern uses."""

from services.teams.registry import SCOPES, TOOLS, get_tool, tools_of

__all__ = ["SCOPES", "TOOLS", "get_tool", "tools_of"]
