"""Connecting a front end (ask, chat, tools) to the running stack's Temporal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from temporalio.client import Client

from durable_agents_cli.stack import control
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import StackState
from services import temporal, topology
from services.errors import DagentError, StackNotRunningError, TemporalUnreachableError
from services.settings import DagentSettings

if TYPE_CHECKING:
    from services.identity.acting import Acting

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        metavar="NAME",
        help="Act as this user of 'dagent users' (default: DAGENT_USER, else your login).",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="JWT",
        help="Act with this identity token, e.g. from your identity provider. Prefer DAGENT_TOKEN: "
        "a command line is visible to every local user.",
        show_default=False,
    ),
]


def check_id(kind: str, value: str | None) -> None:
    """Refuse a malformed --session or --message-id before anything is sent."""
    from services.conversation import id_problem

    problem = id_problem(kind, value) if value is not None else None
    if problem:
        raise DagentError(problem)


async def connect_to_stack(home: Path, acting: Acting | None = None) -> tuple[Client, StackState]:
    """A client on the running stack's orchestrator namespace; with `acting`, each
    message and query it sends carries that user's token."""
    from services.identity.headers import ClientIdentity
    from services.telemetry import tracing

    state = control.current_state(StackPaths(home))
    if state.phase != "ready":
        raise StackNotRunningError(
            f"dagent is {state.phase}, not ready; check 'dagent status' or run 'dagent up'."
        )
    try:
        client = await temporal.connect(
            topology.ORCHESTRATOR_NAMESPACE,
            address=state.config.temporal_address,
            runtime=temporal.quiet_runtime(),
            interceptors=[ClientIdentity(acting.token)] if acting is not None else [],
            data_converter=temporal.sealed_converter(home, state.config.encrypt),
            plugins=tracing.plugins() if tracing.start("cli", home) else [],
        )
    except TemporalUnreachableError:
        raise StackNotRunningError(
            f"Cannot reach Temporal at {state.config.temporal_address}; check 'dagent status'."
        ) from None
    return client, state


def acting_as(settings: DagentSettings, user: str | None, token: str | None) -> Acting:
    """Who this command acts as: a user of the users file, or the holder of a token."""
    from services.identity.acting import Acting

    return Acting(settings, user, token)
