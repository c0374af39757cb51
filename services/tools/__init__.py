"""The tool registry: every tool defined once, served over any transport."""

from services.tools.base import SAMPLE_DATA, Tool, ToolInput, ToolInputError
from services.tools.registry import TOOLS, get_tool, tools_of

__all__ = ["SAMPLE_DATA", "TOOLS", "Tool", "ToolInput", "ToolInputError", "get_tool", "tools_of"]
