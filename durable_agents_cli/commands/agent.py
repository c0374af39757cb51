"""`dagent ask` and `dagent tools list`: talk to the agent on the running stack."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.markup import escape

from durable_agents_cli import console, render_agent
from durable_agents_cli.session import TokenOption, UserOption, acting_as, check_id, connect_to_stack
from services.errors import DagentError, StoppedWaitingError
from services.settings import load_settings

ASK_TIMEOUT = 120.0
# Read at most this much from standard input: far above what a message may hold,
# so an oversized one is refused by the conversation with its own clear reason.
STDIN_LIMIT = 4 * 1024 * 1024


def read_question(stream: BinaryIO) -> str:
    data = stream.read(STDIN_LIMIT + 1)
    if len(data) > STDIN_LIMIT:
        raise DagentError(f"The message on standard input is larger than {STDIN_LIMIT // 1024**2} MB.")
    try:
        # `echo ... |` ends the text with a line break that is not part of the question.
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DagentError(
            f"The message on standard input is not UTF-8 text (byte {exc.start}); send text."
        ) from None


def ask(
    question: Annotated[
        str,
        typer.Argument(metavar="QUESTION", help="What to ask the agent; '-' reads it from standard input."),
    ],
    session: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="Continue this conversation (default: a new one).", show_default=False
        ),
    ] = None,
    message_id: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="Idempotency key: the same id is answered once, however often it is sent."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Answer, tool calls and timings as JSON.")] = False,
    timeout: Annotated[
        float, typer.Option(min=1, metavar="SECONDS", help="Seconds to wait for the reply.")
    ] = ASK_TIMEOUT,
    user: UserOption = None,
    token: TokenOption = None,
) -> None:
    """Ask one question and print the answer (scriptable)."""
    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

    from services import conversation

    settings = load_settings()
    check_id("session", session)
    check_id("message", message_id)
    session_id = session or conversation.new_session_id()
    message_id = message_id or conversation.new_message_id()
    if question == "-":
        question = read_question(sys.stdin.buffer)

    sending = False

    async def go() -> tuple[Any, float]:
        nonlocal sending
        client, state = await connect_to_stack(settings.home, acting)
        pattern = state.config.pattern
        if session is not None:
            await conversation.check_session_pattern(client, session_id, pattern)
        loop = asyncio.get_running_loop()
        started = loop.time()
        sending = True
        try:
            async with asyncio.timeout(timeout):
                reply = await conversation.send(
                    client,
                    session_id,
                    question,
                    message_id=message_id,
                    turns_per_run=settings.turns_per_run,
                    pattern=pattern,
                )
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise DagentError(f"No reply within {timeout:g} s. {_kept(session_id, message_id)}") from None
        return reply, loop.time() - started

    try:
        try:
            acting = acting_as(settings, user, token)
            with console.waiting(lambda: _waiting_for(settings.home, session_id)):
                reply, elapsed = asyncio.run(go())
        except KeyboardInterrupt:
            if not sending:
                raise
            raise StoppedWaitingError(f"Stopped waiting. {_kept(session_id, message_id)}") from None
    except DagentError as exc:
        if as_json:  # a script reads JSON whatever happened
            console.out.print_json(
                json.dumps(render_agent.ask_problem_json(session_id, message_id, str(exc)))
            )
        raise
    if as_json:
        console.out.print_json(json.dumps(render_agent.ask_json(session_id, reply, elapsed, acting.user)))
    elif console.out.is_terminal:
        console.out.print(render_agent.answer(reply, elapsed))
    else:
        sys.stdout.write(render_agent.plain_answer(reply, elapsed))
    if not as_json and session is None:
        console.err.print(
            f"[dim]session {session_id} of {escape(acting.user)}: continue with --session {session_id}[/]"
        )
    if reply.error:
        raise typer.Exit(1)  # the answer says it failed: so does the exit code


def _waiting_for(home: Path, session: str) -> str:
    from durable_agents_cli.stack import control
    from durable_agents_cli.stack.paths import StackPaths

    loading = (
        "; the first turn after a start loads the model library"
        if control.model_loading(StackPaths(home))
        else ""
    )
    return f"Waiting for the agent (session {session}{loading})..."


def _kept(session: str, message_id: str) -> str:
    return (
        f"The message is safe in session '{session}' and will be answered; get the reply with "
        f"'dagent ask --session {session} --message-id {message_id} ...' (same message) "
        f"or 'dagent chat --session {session}'."
    )


def tools_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    user: UserOption = None,
    token: TokenOption = None,
) -> None:
    """List the tools discovered live from the running services, the scope each needs,
    and whether you (or --user) hold it."""
    from services import conversation

    settings = load_settings()
    user_given = user is not None or token is not None
    try:
        acting = acting_as(settings, user, token)
        holder, held = acting.user, acting.scopes
    except DagentError as exc:
        if user_given:
            raise
        # Listing needs no identity: without one, the list says nothing of scopes held.
        console.warn(f"Not showing which scopes you hold: {exc}")
        holder, held = "", None

    async def go() -> Any:
        client, state = await connect_to_stack(settings.home)
        return await conversation.tool_catalog(client, state.config.pattern)

    catalog = asyncio.run(go())
    if as_json:
        console.out.print_json(json.dumps(render_agent.catalog_json(catalog, holder, held)))
    else:
        console.out.print(render_agent.catalog_table(catalog, holder, held))
        for service, reason in catalog.unavailable.items():
            console.warn(f"{service}: {reason}")


def register(app: typer.Typer) -> None:
    app.command(
        epilog=console.examples(
            'dagent ask "What is 125 * 8?"',
            'dagent ask "and for AAPL?" --session 3bc448dd5b66',
            'echo "TSLA price and my IP" | dagent ask - --json',
        )
    )(ask)
    tools = typer.Typer(help="The agent's tools.", no_args_is_help=True)
    tools.command("list", epilog=console.examples("dagent tools list", "dagent tools list --json"))(
        tools_list
    )
    app.add_typer(tools, name="tools")
