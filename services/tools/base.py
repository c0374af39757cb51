"""What a tool is: a name, a description, a pydantic input model, an implementation, an owner;
and the one shape in which a tool is described to callers and models."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from services.limits import MAX_TOOL_ARGUMENTS_CHARS

# Every result computed from sample data carries this, so neither the model nor
# the user can mistake it for live data.
SAMPLE_DATA = "sample data (deterministic demo values, not live)"


class ToolInput(BaseModel):
    """Base of every tool's input: unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ToolInputError(ValueError):
    """The arguments can never work: retrying is pointless."""


# The failure type a tool's refusal travels under: never retried, and never an outage.
TOOL_INPUT_ERROR = ToolInputError.__name__


def unknown_tool(name: str, known: list[str]) -> str:
    return f"Tool '{name}' not found; known tools: {', '.join(known) or 'none'}."


ToolResult = dict[str, Any]


class ToolSchema(BaseModel):
    """A tool as a caller or a model sees it: name, description, JSON schema of its
    arguments, and the scope a user needs to have it run (empty: not said)."""

    name: str
    description: str
    parameters: dict[str, Any]
    scope: str = ""

    def function_spec(self) -> dict[str, Any]:
        """The OpenAI / LiteLLM `tools=[...]` entry for this tool."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class ToolDescription(ToolSchema):
    """A tool as its team describes it (the Nexus `list_tools` answer)."""

    team: str


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[BaseModel]
    implementation: Callable[[Any], Awaitable[ToolResult]]
    team: str  # topology.ORCHESTRATOR for local tools, else the owning team's name
    # What a user must hold to have it run, checked where it runs.
    scope: str

    def parameters_schema(self) -> dict[str, Any]:
        """A flat JSON schema of the arguments, as function-calling models expect."""
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        schema["additionalProperties"] = False
        return schema

    def describe(self) -> ToolDescription:
        return ToolDescription(
            name=self.name,
            description=self.description,
            parameters=self.parameters_schema(),
            team=self.team,
            scope=self.scope,
        )

    def function_spec(self) -> dict[str, Any]:
        return self.describe().function_spec()

    def parse(self, arguments: str | dict[str, Any] | None) -> BaseModel:
        """Validated input, or ToolInputError naming what is wrong."""
        if arguments is None or arguments == "":
            arguments = {}
        if isinstance(arguments, str):
            if len(arguments) > MAX_TOOL_ARGUMENTS_CHARS:
                raise ToolInputError(
                    f"Arguments for '{self.name}' are too large ({len(arguments)} characters)."
                )
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError as exc:
                raise ToolInputError(f"Arguments for '{self.name}' are not valid JSON: {exc.msg}.") from None
        if not isinstance(arguments, dict):
            raise ToolInputError(f"Arguments for '{self.name}' must be a JSON object.")
        try:
            return self.input_model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ToolInputError(f"Invalid arguments for '{self.name}': {problems}.") from None

    async def run(self, arguments: str | dict[str, Any] | None) -> ToolResult:
        return await self.implementation(self.parse(arguments))
