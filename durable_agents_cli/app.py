"""The `dagent` command: a thin Typer layer over the stack and the services."""

from __future__ import annotations

import sys

import typer

from durable_agents_cli import console
from durable_agents_cli.commands import agent, serve, stack
from services.errors import DagentError

app = typer.Typer(
    name="dagent",
    help="Run durable AI agents on Temporal: one command brings up the whole stack.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
stack.register(app)
agent.register(app)
serve.register(app)


def main() -> None:
    try:
        app()
    except DagentError as exc:
        console.error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        console.err.print("Interrupted.")
        sys.exit(130)
