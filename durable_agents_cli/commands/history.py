"""`dagent history SESSION`: a session's messages and replies, decoded for its owner."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer

from durable_agents_cli import console, render_agent
from durable_agents_cli.session import TokenOption, UserOption, acting_as, check_id, connect_to_stack
from services.errors import DagentError
from services.settings import load_settings


def history(
    session: Annotated[str, typer.Argument(metavar="SESSION", help="The session to show.")],
    as_json: Annotated[bool, typer.Option("--json", help="The transcript as JSON.")] = False,
    user: UserOption = None,
    token: TokenOption = None,
) -> None:
    """Show a session's messages and replies: Temporal holds them encrypted, dagent
    decrypts them for the session's owner."""
    from services import conversation

    settings = load_settings()
    check_id("session", session)
    acting = acting_as(settings, user, token)

    async def go() -> list[Any]:
        client, _ = await connect_to_stack(settings.home, acting)
        entries = await conversation.transcript(client, session)
        if not entries and not await conversation.exists(client, session):
            raise DagentError(
                f"No session '{session}' on this stack; check the id ('dagent chat' resumes your last)."
            )
        return entries

    entries = asyncio.run(go())
    if as_json:
        console.out.print_json(json.dumps([entry.model_dump(mode="json") for entry in entries]))
    elif not entries:
        # A session answers its owner only: to anyone else it has nothing to show.
        console.out.print(f"No messages in session {session} that {acting.user} may read.")
    elif console.out.is_terminal:
        console.out.print(render_agent.transcript(entries))
    else:
        sys.stdout.write(render_agent.plain_transcript(entries))


def register(app: typer.Typer) -> None:
    app.command(epilog=console.examples("dagent history 3bc448dd5b66", "dagent history 3bc448dd5b66 --json"))(
        history
    )
