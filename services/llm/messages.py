"""Chat messages in the OpenAI shape LiteLLM speaks, as durable pydantic models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from services.conversation.contract import Usage

# How a conversation summary names its first question; the offline model reads it back.
SUMMARY_FIRST = "First question: "
SUMMARY_OTHERS = "Other earlier questions: "
# How the model is told which services it cannot use now, one "- service: why" line
# each; the offline model reads it back.
UNAVAILABLE_NOTE = "Services unavailable right now"


def unavailable_note(unavailable: dict[str, str]) -> str | None:
    """The system note that names the services the model cannot use, and why."""
    if not unavailable:
        return None
    lines = [
        f"{UNAVAILABLE_NOTE} (answer what you can, and say which part of the question you "
        "cannot answer and why):"
    ]
    lines += [f"- {service}: {reason}" for service, reason in sorted(unavailable.items())]
    return "\n".join(lines)


class LlmToolCall(BaseModel):
    id: str
    name: str
    arguments: str = "{}"


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[LlmToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    def to_openai(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        if self.name is not None and self.role == "tool":
            message["name"] = self.name
        return message


class LlmRequest(BaseModel):
    messages: list[ChatMessage]
    tools: list[dict[str, Any]] = Field(default_factory=list)


class LlmResponse(BaseModel):
    content: str | None = None
    tool_calls: list[LlmToolCall] = Field(default_factory=list)
    model: str = ""
    usage: Usage | None = None
