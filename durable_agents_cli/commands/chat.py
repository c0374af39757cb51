"""`dagent chat`: parse, make sure the stack is up, run the loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import termios
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.prompt import Confirm
from rich.text import Text

from durable_agents_cli import console
from durable_agents_cli.session import TokenOption, UserOption
from durable_agents_cli.stack import control
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import read_state
from services.errors import DagentError, StackNotRunningError
from services.settings import load_settings


def chat(
    session: Annotated[
        str | None, typer.Option(metavar="ID", help="Resume this session.", show_default=False)
    ] = None,
    new: Annotated[
        bool, typer.Option("--new", help="Start a new session instead of resuming the last.")
    ] = False,
    user: UserOption = None,
    token: TokenOption = None,
) -> None:
    """Chat with the agent: live progress, Markdown answers, /help for commands."""
    from durable_agents_cli.chat.backend import LAST_SESSION_FILE, TemporalChatBackend, last_session
    from durable_agents_cli.chat.repl import ChatLoop
    from durable_agents_cli.chat.terminal import TerminalView
    from durable_agents_cli.session import acting_as, check_id, connect_to_stack
    from services.conversation import check_session_pattern, new_session_id

    settings = load_settings()
    check_id("session", session)
    paths = StackPaths(settings.home)
    interactive = sys.stdin.isatty()
    # Who is asking is settled first: an unknown user is told so before anything starts.
    acting = acting_as(settings, user, token)
    _ensure_stack(paths, interactive)
    last_file = paths.chat_dir / LAST_SESSION_FILE
    resumed = session or (None if new else last_session(last_file))
    session_id = resumed or new_session_id()

    async def go() -> str:
        nonlocal resumed, session_id
        client, state = await connect_to_stack(settings.home, acting)
        if resumed is not None:
            try:
                await check_session_pattern(client, session_id, state.config.pattern)
            except DagentError as exc:
                if session is not None:
                    raise
                # Name the session left behind, and how to go back to it.
                console.out.print(Text(f"{exc} Starting a new session.", style="yellow"))
                resumed, session_id = None, new_session_id()
        backend = TemporalChatBackend(client, state, session_id, paths, settings.turns_per_run, acting.user)
        view = TerminalView(
            console.out, paths.chat_dir / "input_history", interactive, model_loading=backend.model_loading
        )
        loop = ChatLoop(backend, view, time.monotonic)
        view.on_interrupt(loop.interrupt)
        await loop.run(show_history=resumed is not None)
        return backend.session

    with _terminal_kept():
        left = asyncio.run(go())
    console.out.print(console.as_typed(f"Bye. To continue this conversation: dagent chat --session {left}"))


@contextlib.contextmanager
def _terminal_kept() -> Iterator[None]:
    """The terminal's settings as they were, however the chat ends: it turns echo off
    while the agent works, and a crash then must not leave the shell without echo."""
    try:
        saved = termios.tcgetattr(sys.stdin)
    except (termios.error, ValueError, OSError):  # not a terminal
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)


def _ensure_stack(paths: StackPaths, interactive: bool) -> None:
    state = read_state(paths) if control.supervisor_alive(paths) else None
    if state is not None and state.phase == "ready":
        return
    if not interactive:
        raise StackNotRunningError(
            "dagent is not running; start it with 'dagent up', then run 'dagent chat'."
        )
    if not Confirm.ask("dagent is not running. Start it now (dagent up)?", default=True, console=console.out):
        raise StackNotRunningError("Not started; run 'dagent up' when you are ready.")
    from durable_agents_cli.commands.stack import up

    up()


def register(app: typer.Typer) -> None:
    from durable_agents_cli.chat.slash import help_lines

    commands = "; ".join(f"{command}: {text}" for command, text in help_lines())
    app.command(
        epilog=f"In the chat: {commands}. Ctrl-C stops waiting for a turn (the agent finishes it); "
        "Ctrl-D or /exit leaves. Sessions and input history live in DAGENT_HOME (default ~/.dagent).\n\n"
        + console.examples("dagent chat", "dagent chat --new", "dagent chat --session 3bc448dd5b66")
    )(chat)
