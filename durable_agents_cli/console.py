"""The two consoles every command writes to: results to stdout, trouble to stderr."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.text import Text

# Written to a pipe or a file, output is read whole: not wrapped at Rich's default
# 80 columns (a terminal's own width still applies to a terminal).
PIPE_WIDTH = 240

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
for _console in (out, err):
    if not _console.is_terminal and "COLUMNS" not in os.environ:
        _console.width = PIPE_WIDTH


# The command as the user typed it: started by `uv run` (which sets this), a hint that
# says `dagent up` would name a command their shell may not have.
RUN_THROUGH_UV = "UV_RUN_RECURSION_DEPTH" in os.environ
COMMANDS = (
    "up",
    "down",
    "status",
    "logs",
    "ask",
    "chat",
    "trace",
    "metrics",
    "tools",
    "worker",
    "mcp",
    "users",
    "audit",
    "history",
    "keys",
    "web",
    "version",
)
# Not inside a path or a word, and not already after `uv run `.
DAGENT_COMMAND = re.compile(rf"(?<![\w/.~-])(?<!uv run )dagent (?=(?:{'|'.join(COMMANDS)})\b)")


def as_typed(text: str) -> str:
    """`text` with each `dagent <command>` hint as the user runs dagent (`uv run dagent`)."""
    return DAGENT_COMMAND.sub("uv run dagent ", text) if RUN_THROUGH_UV else text


def error(message: str) -> None:
    """One line on stderr; the message is shown verbatim, never as markup."""
    err.print(Text.assemble(("Error: ", "bold red"), as_typed(message)), soft_wrap=True)


def warn(message: str) -> None:
    err.print(Text.assemble(("Warning: ", "bold yellow"), as_typed(message)), soft_wrap=True)


@contextlib.contextmanager
def waiting(message: Callable[[], str]) -> Iterator[None]:
    """A spinner on stderr while the block runs, when stderr is a terminal (never in a
    pipe or a log, where it would be noise; `message` is then not even made)."""
    if not err.is_terminal:
        yield
        return
    with err.status(Text(message(), style="dim")):
        yield


def examples(*lines: str) -> str:
    """A command's help epilog: examples, one per line (Rich markup kept out)."""
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)
