"""The `dagent` command: a thin Typer layer over the stack and the services."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from durable_agents_cli import console
from durable_agents_cli.commands import agent, audit, chat, history, keys, metrics, serve, stack, trace, users
from durable_agents_cli.stack.private import private_umask
from services import __version__
from services.errors import DagentError


def _plain_help() -> None:
    """Typer 0.29's help prints Python type names beside each parameter (`<str>`,
    `<bool>`); an argument's name and an option's metavar say it in the user's words,
    and a flag needs none."""
    from typer.core import TyperArgument, TyperOption

    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
    show_option = TyperOption.display_type_rich
    TyperOption.display_type_rich = lambda self, ctx: None if self.is_flag else show_option(self, ctx)  # type: ignore[method-assign]


_plain_help()

app = typer.Typer(
    name="dagent",
    help="Run durable AI agents on Temporal: one command brings up the whole stack.",
    no_args_is_help=True,
    # `dagent --install-completion` (bash, zsh, fish, PowerShell), Typer's own.
    add_completion=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(wanted: bool) -> None:
    if wanted:
        version()
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show dagent's version and exit.",
        ),
    ] = False,
) -> None:
    """Run durable AI agents on Temporal: one command brings up the whole stack."""


@app.command()
def version() -> None:
    """Show dagent's version."""
    console.out.print(f"dagent {__version__}")


stack.register(app)
agent.register(app)
chat.register(app)
serve.register(app)
users.register(app)
audit.register(app)
history.register(app)
keys.register(app)
trace.register(app)
metrics.register(app)


def main() -> None:
    code = run()
    from services.telemetry import tracing

    tracing.flush()  # a one-shot command's spans, before the deliberate end below
    # End deliberately: an interpreter that used a Temporal client can crash
    # while tearing the client's runtime down (sdk-python issue 300), turning
    # a successful command into a segfault exit code.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run() -> int:
    """Run the CLI and return its exit code; user errors become one line on stderr."""
    # Whatever dagent and the processes it starts create is the user's alone.
    private_umask()
    try:
        # Not standalone: a usage error comes back here, to be told in one line too.
        code = app(standalone_mode=False, prog_name="dagent")
    except typer.TyperException as exc:  # a usage error (Typer's click's ClickException)
        if exc.format_message():  # empty: help was asked for by giving nothing, and shown
            console.error(_usage_line(exc))
        return exc.exit_code
    except SystemExit as exc:
        return _exit_code(exc.code)
    except DagentError as exc:
        console.error(str(exc))
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        console.err.print("Interrupted.")
        return 130
    return code if isinstance(code, int) else 0


def _usage_line(error: typer.TyperException) -> str:
    """What is wrong and where help is, e.g. "Missing argument 'QUESTION'. See 'dagent ask -h'."."""
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "dagent"
    message = error.format_message()
    return f"{message}{'' if message.endswith(('.', '?')) else '.'} See '{command} -h'."


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
