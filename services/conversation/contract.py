"""The conversation contract every agent pattern implements, and every client uses.

One long-running workflow per chat session. A message goes in with a client-made
id through the `send` update (with start); the update returns that message's
reply, so a retried send is answered once and a client that comes back with the
same id gets the same reply. Queries expose the transcript and the live progress.
Pydantic models only: no workflow code, no I/O.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services import limits, topology
from services.safe_text import CONTROLS, ESCAPES, clean_text, clean_value
from services.tools import ToolSchema

# One workflow type per agent pattern: a session stays with the pattern it began in.
WORKFLOW_TYPES: dict[topology.Pattern, str] = {
    "nexus": "dagent.Conversation",
    "agents-nexus": "dagent.AgentsConversation",
    "mcp": "dagent.McpConversation",
}
# Which pattern a conversation workflow type belongs to.
WORKFLOW_PATTERNS: dict[str, topology.Pattern] = {kind: pattern for pattern, kind in WORKFLOW_TYPES.items()}
CATALOG_WORKFLOW = "dagent.ToolCatalog"
SEND_UPDATE = "send"
PROGRESS_QUERY = "progress"
TRANSCRIPT_QUERY = "transcript"

# Session and message ids end up in workflow ids, file names and URLs.
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")

Transport = Literal["local", "nexus", "mcp"]
CircuitState = Literal["closed", "open", "half-open"]


CHAT_WORKFLOW_PREFIX = "dagent-chat-"


def workflow_id(session: str) -> str:
    return f"{CHAT_WORKFLOW_PREFIX}{session}"


def id_problem(kind: str, value: str) -> str | None:
    """Why `value` cannot be a session or message id, or None if it can."""
    pattern = SESSION_ID if kind == "session" else MESSAGE_ID
    if pattern.match(value):
        return None
    longest = 64 if kind == "session" else 200
    return (
        f"Invalid {kind} id {value[:80]!r}: use 1-{longest} letters, digits, '.', '_' or '-', "
        "starting with a letter or digit."
    )


MESSAGE_TOO_LONG = f"The message is longer than {limits.MAX_MESSAGE_CHARS} characters."


def message_problem(text: str) -> str | None:
    """Why the conversation refuses `text` as a message, or None if it takes it."""
    if not text.strip():
        return "The message is empty."
    if len(text) > limits.MAX_MESSAGE_CHARS:
        return MESSAGE_TOO_LONG
    if CONTROLS.search(text) or ESCAPES.search(text):
        return "The message contains control characters or terminal escapes; remove them."
    return None


class ConversationStart(BaseModel):
    """What a client starts a conversation workflow with."""

    session: str
    turns_per_run: int = limits.DEFAULT_TURNS_PER_RUN


class UserMessage(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    text: str
    # Who sent it, as their verified token said; set by the conversation when it
    # accepts the message, whatever a client put here.
    user: str = ""
    scopes: list[str] = Field(default_factory=list)
    # The W3C trace context of the `send` that brought it (set by the conversation).
    traceparent: str = ""


class Usage(BaseModel):
    """What model calls consumed, as the provider counted it."""

    input_tokens: int = 0
    output_tokens: int = 0
    # US dollars from LiteLLM's (offline) cost map; None when a call's price is unknown.
    cost: float | None = 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def plus(self, other: Usage | None) -> Usage:
        """Both together; a call that reported nothing makes the cost unknown."""
        if other is None:
            return self.model_copy(update={"cost": None})
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost=cost,
        )


class ToolCallRecord(BaseModel):
    service: str
    tool: str
    transport: Transport
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True


class Reply(BaseModel):
    message_id: str
    text: str
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    started_at: datetime
    finished_at: datetime
    steps: int = 0
    # The turn failed as a whole (the model could not answer).
    error: bool = False
    # The answer may lack a part: a tool call failed, or a service was unavailable.
    partial: bool = False
    # Services the turn could not use, and why.
    unavailable: dict[str, str] = Field(default_factory=dict)
    # The OpenTelemetry trace of the turn ('' when tracing is off): `dagent trace`.
    trace_id: str = ""
    # What the turn's model calls consumed (None: not known, as for older replies).
    usage: Usage | None = None

    def shown(self) -> Reply:
        """This reply as a person may see it: model and tool text hold no escape
        sequence or control character (they would repaint the reader's terminal)."""
        calls = [
            call.model_copy(
                update={
                    "tool": clean_text(call.tool),  # a tool the model made up is named as written
                    "service": clean_text(call.service),
                    "arguments": clean_value(call.arguments),
                    "result": clean_value(call.result),
                }
            )
            for call in self.tool_calls
        ]
        return self.model_copy(
            update={
                "text": clean_text(self.text),
                "tool_calls": calls,
                "unavailable": clean_value(self.unavailable),
            }
        )


class TranscriptEntry(BaseModel):
    message_id: str
    question: str
    reply: Reply | None = None

    def shown(self) -> TranscriptEntry:
        reply = self.reply.shown() if self.reply is not None else None
        return self.model_copy(update={"question": clean_text(self.question), "reply": reply})


def cooled_down(state: CircuitState, retry_at: datetime | None, now: datetime) -> bool:
    """An open circuit whose cool-down has passed is half-open: the next call probes."""
    return state == "open" and retry_at is not None and now >= retry_at


class CircuitStatus(BaseModel):
    """One tool service's circuit breaker, as clients show it (the progress query, `/session`)."""

    service: str
    state: CircuitState
    failures: int = 0
    reason: str = ""
    retry_at: datetime | None = None

    def as_of(self, now: datetime) -> CircuitStatus:
        """A query sees the workflow's time as of its last task; the client knows now."""
        if cooled_down(self.state, self.retry_at, now):
            return self.model_copy(update={"state": "half-open", "retry_at": None})
        return self


class Progress(BaseModel):
    """What the agent is doing right now."""

    state: Literal["idle", "thinking", "calling_tool"] = "idle"
    message_id: str | None = None
    step: int = 0
    tool: str | None = None
    service: str | None = None
    transport: Transport | None = None
    queued: int = 0
    run_turns: int = 0
    total_turns: int = 0
    unavailable: dict[str, str] = Field(default_factory=dict)
    # Each tool service's circuit breaker: closed (normal), open (calls refused at
    # once until `retry_at`), half-open (the next call probes).
    circuits: list[CircuitStatus] = Field(default_factory=list)
    # Whose session this is ("" before its first verified message).
    owner: str = ""
    # The current run's history as of its last workflow task: it continues as new past
    # limits.HISTORY_BUDGET_* (Temporal warns at HISTORY_WARN_*).
    history_events: int = 0
    history_bytes: int = 0


class ToolRoute(ToolSchema):
    """A tool a conversation can call: who serves it, over which transport."""

    service: str
    transport: Transport
    endpoint: str | None = None

    @classmethod
    def to(
        cls, tool: ToolSchema, service: str, transport: Transport, endpoint: str | None = None
    ) -> ToolRoute:
        return cls(
            name=tool.name,
            description=tool.description,
            parameters=tool.parameters,
            scope=tool.scope,
            service=service,
            transport=transport,
            endpoint=endpoint,
        )


class ToolCatalogResult(BaseModel):
    tools: list[ToolRoute] = Field(default_factory=list)
    # service name -> why its tools are missing
    unavailable: dict[str, str] = Field(default_factory=dict)


class CatalogRequest(BaseModel):
    """What `dagent tools list` asks the tool catalog workflow."""

    pattern: topology.Pattern = topology.DEFAULT_PATTERN
