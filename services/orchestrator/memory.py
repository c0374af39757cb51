"""What the model sees: a sliding window over the conversation, a summary of what fell out,
and tool results cut to size. Pure functions, safe inside workflows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from services.orchestrator.messages import ChatMessage
from services.orchestrator.planner import SUMMARY_FIRST

# Messages kept verbatim; older turns are folded into the summary.
WINDOW_MESSAGES = 40
EARLIER_QUESTIONS_KEPT = 20
MAX_TOOL_RESULT_CHARS = 4_000

SYSTEM_PROMPT = (
    "You are dagent, a helpful assistant that answers with the tools you are given. "
    "Call tools for facts and arithmetic instead of guessing; call several at once when a "
    "question has several parts. Results marked as sample data are demo values: say so, "
    "and never present them as live. Answer concisely in Markdown."
)


class Memory(BaseModel):
    """The model-facing memory of one conversation; carried across continue-as-new."""

    window: list[ChatMessage] = Field(default_factory=list)
    first_question: str | None = None
    earlier_questions: list[str] = Field(default_factory=list)

    def add(self, message: ChatMessage) -> None:
        if message.role == "user" and self.first_question is None:
            self.first_question = message.content
        # Assigned, not appended: a field mutated in place counts as unset, and the
        # Agents SDK plugin's converter drops unset fields.
        self.window = [*self.window, message]

    def fold(self) -> None:
        """Move whole old turns out of the window, remembering their questions."""
        while len(self.window) > WINDOW_MESSAGES:
            cut = next(
                (i for i, m in enumerate(self.window) if i > 0 and m.role == "user"),
                len(self.window),
            )
            if cut >= len(self.window):
                break  # one huge turn: keep it whole rather than orphan tool results
            for message in self.window[:cut]:
                if message.role == "user" and message.content:
                    self.earlier_questions.append(message.content)
            self.earlier_questions = self.earlier_questions[-EARLIER_QUESTIONS_KEPT:]
            self.window = self.window[cut:]

    def context(self) -> list[ChatMessage]:
        messages = [ChatMessage(role="system", content=SYSTEM_PROMPT)]
        summary = self.summary()
        if summary:
            messages.append(ChatMessage(role="system", content=summary))
        return messages + self.window

    def summary(self) -> str | None:
        if not self.earlier_questions:
            return None
        lines = ["Earlier in this conversation (no longer shown in full):"]
        if self.first_question:
            lines.append(f'{SUMMARY_FIRST}"{_one_line(self.first_question)}"')
        lines.append("Other earlier questions: " + "; ".join(_one_line(q) for q in self.earlier_questions))
        return "\n".join(lines)


def truncate(text: str, limit: int = MAX_TOOL_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [truncated {len(text) - limit} characters]"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


WINDOW_ITEMS = 60


def fold_items(items: list[dict[str, Any]], memory: Memory) -> list[dict[str, Any]]:
    """The Agents SDK's items cut to a window at a user message; the questions that
    fall out go into `memory`'s summary."""
    while len(items) > WINDOW_ITEMS:
        cut = next((i for i, item in enumerate(items) if i > 0 and item.get("role") == "user"), len(items))
        if cut >= len(items):
            break
        for item in items[:cut]:
            if item.get("role") == "user" and isinstance(item.get("content"), str):
                memory.earlier_questions.append(item["content"])
        memory.earlier_questions = memory.earlier_questions[-EARLIER_QUESTIONS_KEPT:]
        items = items[cut:]
    return items
