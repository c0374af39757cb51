"""Slash commands: parsed into a result the loop acts on; nothing is printed here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["help", "tools", "history", "session", "new", "exit", "unknown"]

COMMANDS: dict[str, str] = {
    "/help": "show this help",
    "/tools": "the tools the agent can use, discovered live",
    "/history": "this session's transcript, from the workflow",
    "/session": "session id, pattern, model, Web UI link, turns, tokens and cost, last trace, circuits",
    "/new": "start a fresh session",
    "/exit": "leave (Ctrl-D works too)",
}


@dataclass(frozen=True)
class SlashCommand:
    action: Action
    text: str


def parse(line: str) -> SlashCommand | None:
    """The slash command in `line`, or None if it is a message for the agent."""
    stripped = line.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    word = stripped.split()[0].lower()
    if word in COMMANDS:
        return SlashCommand(action=word[1:], text=stripped)  # type: ignore[arg-type]
    if word in ("/quit", "/q"):
        return SlashCommand(action="exit", text=stripped)
    return SlashCommand(action="unknown", text=stripped)


def help_lines() -> list[tuple[str, str]]:
    return list(COMMANDS.items())
