"""`dagent trace [SESSION]`: what a turn did, drawn from the local trace store."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from durable_agents_cli import console, render_trace
from durable_agents_cli.session import check_id
from services.errors import DagentError
from services.settings import load_settings


def trace(
    session: Annotated[
        str | None,
        typer.Argument(
            metavar="SESSION",
            help="The session whose turn to draw (default: the last turn).",
            show_default=False,
        ),
    ] = None,
    message_id: Annotated[
        str | None,
        typer.Option(
            "--message", metavar="ID", help="The turn that answered this message id.", show_default=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The trace's spans as JSON.")] = False,
) -> None:
    """Draw a turn's trace: every span of every process it crossed, with its service and
    duration, from the local store (no collector needed)."""
    from services.telemetry import store, tracing

    settings = load_settings()
    check_id("session", session)
    check_id("message", message_id)
    spans = store.turn(settings.home, session, message_id)
    if not spans:
        raise DagentError(_nothing(session, message_id, tracing.collector(), tracing.disabled()))
    if as_json:
        console.out.print_json(json.dumps(render_trace.as_json(spans)))
    else:
        console.out.print(render_trace.tree(spans))


def _nothing(session: str | None, message_id: str | None, collector: str | None, disabled: bool) -> str:
    which = f"message '{message_id}'" if message_id else f"session '{session}'" if session else "any turn"
    if disabled:
        return f"No trace of {which}: tracing is off (OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none)."
    if collector:
        return f"No trace of {which} in the local store: traces go to the OTLP collector at {collector}."
    return f"No trace of {which} in the local store; ask something first ('dagent ask', 'dagent chat')."


def register(app: typer.Typer) -> None:
    app.command(
        epilog=console.examples(
            "dagent trace", "dagent trace 3bc448dd5b66", "dagent trace 3bc448dd5b66 --json"
        )
    )(trace)
