"""What a tool is: a name, a description, a pydantic input model, an implementation
and the service that owns it; how it is described; how its result is read back.
The tools themselves live in `services.teams`."""

from services.tools.base import (
    SAMPLE_DATA,
    TOOL_INPUT_ERROR,
    Tool,
    ToolDescription,
    ToolInput,
    ToolInputError,
    ToolResult,
    ToolSchema,
    unknown_tool,
)
from services.tools.results import is_failure_text, labelled, parse_result

__all__ = [
    "SAMPLE_DATA",
    "TOOL_INPUT_ERROR",
    "Tool",
    "ToolDescription",
    "ToolInput",
    "ToolInputError",
    "ToolResult",
    "ToolSchema",
    "is_failure_text",
    "labelled",
    "parse_result",
    "unknown_tool",
]
