"""`dagent metrics`: turns, turn time, errors, tokens and cost, from the workers' /metrics."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from durable_agents_cli import console
from durable_agents_cli.stack import control
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import read_state
from services.errors import StackNotRunningError
from services.settings import load_settings


def metrics(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the headline figures since the workers started: turns, p50/p95 turn time,
    errors, tool and model calls, tokens and cost; and where Prometheus scrapes them."""
    from durable_agents_cli import render_metrics
    from durable_agents_cli.stack.metrics import headline

    paths = StackPaths(load_settings().home)
    state = read_state(paths) if control.supervisor_alive(paths) else None
    if state is None:
        raise StackNotRunningError("dagent is not running; start it with 'dagent up'.")
    figures = headline(state, paths.home)
    if as_json:
        console.out.print_json(json.dumps(asdict(figures)))
        return
    console.out.print(render_metrics.table(figures))
    for name, why in figures.unreachable.items():
        console.warn(f"{name}'s metrics did not answer ({why}); its figures are left out.")


def register(app: typer.Typer) -> None:
    app.command(epilog=console.examples("dagent metrics", "dagent metrics --json | jq .turns"))(metrics)
