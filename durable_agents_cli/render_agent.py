"""Renderings of the agent's replies and tools; no I/O."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services import limits

if TYPE_CHECKING:  # types only: importing them pulls in the Temporal SDK (~0.3 s per command)
    from services.conversation import (
        CircuitStatus,
        Progress,
        Reply,
        ToolCallRecord,
        ToolCatalogResult,
        TranscriptEntry,
        Usage,
    )


def tool_line(call: ToolCallRecord) -> Text:
    arguments = ", ".join(f"{k}={json.dumps(v)}" for k, v in call.arguments.items())
    mark = ("✓", "green") if call.ok else ("✗", "red")
    return Text.assemble(
        (f"{mark[0]} ", mark[1]),
        (f"{call.service}.{call.tool}", "bold"),
        f"({arguments})",
        (f" via {call.transport}", "dim"),
    )


CIRCUIT_STYLES = {"closed": "green", "half-open": "yellow", "open": "red"}


def circuit_line(circuit: CircuitStatus) -> Text:
    """One service's circuit breaker, e.g. `finance  open  (operation timed out) · next try 12:00:10`."""
    line = Text.assemble(
        (f"{circuit.service:<8}", "bold"), (f"circuit {circuit.state}", CIRCUIT_STYLES[circuit.state])
    )
    if circuit.reason and circuit.state != "closed":
        line.append(f"  ({circuit.reason})", style="dim")
    if circuit.retry_at is not None:
        line.append(f" · next try {circuit.retry_at.astimezone():%H:%M:%S}", style="dim")
    return line


def markdown(text: str) -> RenderableType:
    # Imported when drawn: `ask --json` and piped output never pay for the parser (~20 ms).
    from rich.markdown import Markdown

    return Markdown(text)


def answer(reply: Reply, elapsed: float) -> RenderableType:
    """The answer as Markdown, for a terminal."""
    parts: list[RenderableType] = [markdown(reply.text)]
    for call in reply.tool_calls:
        parts.append(tool_line(call))
    parts.append(Text(_footer(reply, elapsed), style="dim"))
    return Group(*parts)


def transcript(entries: list[TranscriptEntry]) -> RenderableType:
    """A session's messages and replies, as `/history` and `dagent history` show them."""
    if not entries:
        return Text("(no messages yet in this session)", style="dim")
    parts: list[RenderableType] = []
    for entry in entries:
        parts.append(Text("you: " + entry.question, style="bold cyan"))
        if entry.reply is None:
            parts.append(Text("(still being answered)", style="dim"))
            continue
        parts.append(markdown(entry.reply.text))
        parts.extend(tool_line(call) for call in entry.reply.tool_calls)
    return Group(*parts)


def plain_transcript(entries: list[TranscriptEntry]) -> str:
    """The transcript as plain lines, for a pipe or a file: the text as written."""
    lines = []
    for entry in entries:
        lines.append(f"you: {entry.question}")
        if entry.reply is None:
            lines.append("(still being answered)")
            continue
        lines.append(entry.reply.text.rstrip())
        lines.extend(tool_line(call).plain for call in entry.reply.tool_calls)
    return "\n".join(lines) + "\n"


def plain_answer(reply: Reply, elapsed: float) -> str:
    """The answer as plain lines, for a pipe or a file: the text as written, no padding."""
    lines = [
        reply.text.rstrip(),
        *(tool_line(call).plain for call in reply.tool_calls),
        _footer(reply, elapsed),
    ]
    return "\n".join(lines) + "\n"


def _footer(reply: Reply, elapsed: float) -> str:
    footer = f"{elapsed * 1000:.0f} ms · {reply.steps} step{'' if reply.steps == 1 else 's'}"
    if reply.usage is not None and reply.usage.total_tokens:
        footer += f" · {reply.usage.total_tokens} tokens"
        if reply.usage.cost:
            footer += f" · ${reply.usage.cost:.4f}"
    if reply.unavailable:
        footer += f" · partial: {', '.join(sorted(reply.unavailable))} unavailable"
    return footer


def ask_json(session: str, reply: Reply, elapsed: float, user: str) -> dict[str, Any]:
    return {
        "session": session,
        "user": user,
        "message_id": reply.message_id,
        "answer": reply.text,
        "error": reply.error,
        "partial": reply.partial,
        "unavailable": reply.unavailable,
        "tool_calls": [call.model_dump() for call in reply.tool_calls],
        "trace_id": reply.trace_id or None,
        "usage": usage_json(reply.usage),
        "timings": {
            "total_ms": round(elapsed * 1000, 1),
            "workflow_ms": round((reply.finished_at - reply.started_at).total_seconds() * 1000, 1),
            "steps": reply.steps,
            "started_at": reply.started_at.isoformat(),
        },
    }


def usage_json(usage: Usage | None) -> dict[str, Any] | None:
    """Tokens in, out and in all, and the cost in US dollars (null when unknown)."""
    if usage is None:
        return None
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cost": usage.cost,
    }


def session_totals(transcript: list[TranscriptEntry]) -> dict[str, str]:
    """A session's turns, the tokens and cost of all of them, and its last turn's trace."""
    replies = [entry.reply for entry in transcript if entry.reply is not None]
    rows = {"turns": str(len(replies))}
    tokens = sum(reply.usage.total_tokens for reply in replies if reply.usage is not None)
    if tokens:
        costs = [reply.usage.cost if reply.usage is not None else None for reply in replies]
        known = None if any(cost is None for cost in costs) else sum(c for c in costs if c is not None)
        rows["tokens"] = f"{tokens} · cost " + ("unknown" if known is None else f"${known:.4f}")
    traced = [reply.trace_id for reply in replies if reply.trace_id]
    if traced:
        rows["trace"] = f"{traced[-1]} (the last turn's: 'dagent trace SESSION')"
    return rows


def history_budget(progress: Progress) -> str:
    """The current run's history against the budget it rolls over at and Temporal's warning."""
    mb = 1024 * 1024
    return (
        f"{progress.history_events:,} events · {progress.history_bytes / mb:.2f} MB in this run "
        f"(continues as new past {limits.HISTORY_BUDGET_EVENTS:,} events or "
        f"{limits.HISTORY_BUDGET_BYTES // mb} MB; Temporal warns at {limits.HISTORY_WARN_EVENTS:,} "
        f"or {limits.HISTORY_WARN_BYTES // mb} MB)"
    )


def ask_problem_json(session: str, message_id: str, problem: str) -> dict[str, Any]:
    """What `ask --json` prints when there is no reply to show (the same keys, and why)."""
    return {
        "session": session,
        "message_id": message_id,
        "answer": None,
        "error": True,
        "problem": problem,
        "tool_calls": [],
    }


def catalog_table(catalog: ToolCatalogResult, user: str = "", held: frozenset[str] | None = None) -> Table:
    """The tools; with `held`, whether `user` holds the scope each needs."""
    table = Table(title="Tools")
    columns = ["service", "tool", "transport", "scope", "description", "parameters"]
    if held is not None:
        columns.insert(4, f"{user} holds it")
    for column in columns:
        table.add_column(column, overflow="fold")  # wrapped, never cut
    for tool in catalog.tools:
        params = tool.parameters.get("properties", {})
        row: list[str | Text] = [tool.service, tool.name, tool.transport, tool.scope or "-"]
        if held is not None:
            row.append(Text("yes", style="green") if tool.scope in held else Text("no", style="red"))
        table.add_row(*row, tool.description, ", ".join(params) or "-")
    for service in catalog.unavailable:
        dashes = ["-"] * (len(columns) - 3)
        table.add_row(service, *dashes, Text("unavailable", style="red"), "-")
    return table


def catalog_json(catalog: ToolCatalogResult, user: str, held: frozenset[str] | None) -> dict[str, Any]:
    """The tools as JSON; `held` is null for each when who is asking is not known."""
    return {
        "user": user,
        "tools": [
            {
                "service": tool.service,
                "tool": tool.name,
                "transport": tool.transport,
                "scope": tool.scope,
                "held": tool.scope in held if held is not None else None,
                "description": tool.description,
                "parameters": tool.parameters,
            }
            for tool in catalog.tools
        ],
        "unavailable": catalog.unavailable,
    }
