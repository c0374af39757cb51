"""The two consoles every command writes to: results to stdout, trouble to stderr."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.text import Text

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """One line on stderr; the message is shown verbatim, never as markup."""
    err.print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)


def warn(message: str) -> None:
    err.print(Text.assemble(("Warning: ", "bold yellow"), message), soft_wrap=True)


@contextlib.contextmanager
def waiting(message: str) -> Iterator[None]:
    """A spinner on stderr while the block runs, when stderr is a terminal (never in a
    pipe or a log, where it would be noise)."""
    if not err.is_terminal:
        yield
        return
    with err.status(Text(message, style="dim")):
        yield
