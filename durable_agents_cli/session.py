"""Connecting a front end (ask, chat, tools) to the running stack's Temporal."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from durable_agents_cli.stack import control
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import StackState
from services import temporal, topology
from services.errors import DagentError, StackNotRunningError, TemporalUnreachableError


def check_id(kind: str, value: str | None) -> None:
    """Refuse a malformed --session or --message-id before anything is sent."""
    from services.conversation import id_problem

    problem = id_problem(kind, value) if value is not None else None
    if problem:
        raise DagentError(problem)


async def connect_to_stack(home: Path) -> tuple[Client, StackState]:
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
        )
    except TemporalUnreachableError:
        raise StackNotRunningError(
            f"Cannot reach Temporal at {state.config.temporal_address}; check 'dagent status'."
        ) from None
    return client, state
