"""The two consoles every command writes to: results to stdout, trouble to stderr."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """One line on stderr; the message is shown verbatim, never as markup."""
    err.print(Text.assemble(("Error: ", "bold red"), message))


def warn(message: str) -> None:
    err.print(Text.assemble(("Warning: ", "bold yellow"), message))
