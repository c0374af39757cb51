"""`dagent audit`: each tool service's access decisions, from its own audit trail."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from durable_agents_cli import console
from services.settings import load_settings


def audit(
    team: Annotated[
        str | None,
        typer.Option(
            metavar="TEAM", help="Only this service: it, finance or orchestrator.", show_default=False
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this user's calls.", show_default=False)
    ] = None,
    last: Annotated[int, typer.Option(min=1, metavar="N", help="Show the last N decisions.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per decision.")] = False,
) -> None:
    """Show who ran which tool, or was refused, and why: each service's own record."""
    from services import topology
    from services.errors import ConfigError
    from services.identity import audit as trail

    services = [topology.ORCHESTRATOR, *topology.TEAMS]
    if team is not None and team not in services:
        raise ConfigError(f"Unknown service '{team}'; services: {', '.join(services)}.")
    decisions = [
        d
        for d in trail.read(load_settings().home, [team] if team else services)
        if user is None or d.user in (user, f"{user} (unverified)")
    ][-last:]
    if as_json:
        # JSON lines, as the trail itself: one decision per line, for jq and scripts.
        sys.stdout.writelines(json.dumps(asdict(decision)) + "\n" for decision in decisions)
        return
    if not decisions:
        console.out.print(
            "No access decisions match." if team or user else "No access decisions recorded yet."
        )
        return
    table = Table(title="Access decisions")
    for column in ("time", "service", "tool", "user", "decision", "why", "caller"):
        table.add_column(column, overflow="fold")
    for d in decisions:
        verdict = Text("allowed", style="green") if d.allowed else Text("refused", style="red")
        table.add_row(d.time, d.team, d.tool, d.user or "-", verdict, d.reason, d.caller or "-")
    console.out.print(table)


def register(app: typer.Typer) -> None:
    app.command(
        epilog=console.examples(
            "dagent audit", "dagent audit --team finance --user bob", "dagent audit --json"
        )
    )(audit)
