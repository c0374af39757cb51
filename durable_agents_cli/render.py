"""Rich renderings of the stack's state; no I/O beyond building renderables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from durable_agents_cli.console import as_typed
from durable_agents_cli.stack.state import ComponentStatus, StackState
from services import __version__

STATE_STYLE = {
    "starting": "yellow",
    "running": "green",
    "restarting": "yellow",
    "crashed": "bold red",
    "suspended": "bold red",
    "stopped": "dim",
}


def uptime(component: ComponentStatus) -> str:
    if component.state != "running" or component.started_at is None:
        return ""
    seconds = int(time.time() - component.started_at)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def components_table(state: StackState, *, detailed: bool = True) -> Table:
    """`detailed` adds restarts and uptime (status); otherwise the log file (up)."""
    table = Table(title=f"dagent · pattern [bold]{state.config.pattern}[/] · model {state.config.model}")
    columns = ["component", "pid", "state"]
    columns += ["restarts", "uptime", "address", "metrics"] if detailed else ["address", "log"]
    for column in columns:
        # Wrapped, never cut: a narrow terminal still shows every address whole.
        table.add_column(column, no_wrap=column in ("component", "pid"), overflow="fold")
    for c in state.components:
        cells: dict[str, RenderableType] = {
            "component": c.name,
            "pid": str(c.pid or ""),
            "state": Text(c.state + (f" ({c.detail})" if c.detail else ""), style=STATE_STYLE[c.state]),
            "restarts": str(c.restarts),
            "uptime": uptime(c),
            "address": c.address,
            "metrics": c.metrics,
            "log": Path(c.log_file).name,
        }
        table.add_row(*(cells[column] for column in columns))
    return table


def ready_summary(state: StackState, already_up: bool, ui_link: str | None) -> RenderableType:
    """`ui_link`: the Web UI's address with its secret, for the user to open."""
    headline = "dagent is already up." if already_up else "dagent is up."
    lines = [Text(headline, style="bold green")]
    if ui_link:
        lines.append(Text.assemble("Temporal Web UI: ", (ui_link, "link " + ui_link)))
    else:
        lines.append(Text(f"Temporal: {state.config.temporal_address}"))
    if state.components:
        lines.append(Text(as_typed(f"Logs: {Path(state.components[0].log_file).parent} (dagent logs NAME)")))
    lines.append(Text(as_typed("Next: dagent chat · dagent status · dagent logs · dagent down"), style="dim"))
    return Group(components_table(state, detailed=False), *lines)


def failure_panel(component: str | None, log_tail: list[str], cause: str | None = None) -> RenderableType:
    """The failing component's log since its last start, the likely cause on top."""
    title = f"last lines of {component}'s log, this run" if component else "log"
    body = Text()
    if cause:
        body.append("cause: ", style="bold red").append(cause)
    if log_tail:
        body.append("\n\n" if cause else "").append("\n".join(log_tail))
    elif not cause:
        body.append("(nothing logged)")
    return Panel(body, title=title, border_style="red", expand=False)


def status_json(
    state: StackState | None, reachable: bool, address: str | None, healthy: bool
) -> dict[str, Any]:
    """The stable, scriptable shape of `dagent status --json`."""
    return {
        "version": __version__,
        "up": state is not None and state.phase == "ready",
        # up, every component running, Temporal reachable; `status` exits 0 only then
        "healthy": healthy,
        "pattern": state.config.pattern if state else None,
        "model": state.config.model if state else None,
        "encrypted": state.config.encrypt if state else None,
        "temporal": {
            "address": address,
            "reachable": reachable,
            "ui": state.config.ui_url if state else None,
        },
        "components": [
            {
                "name": c.name,
                "pid": c.pid,
                "state": c.state,
                "restarts": c.restarts,
                "address": c.address,
                "metrics": c.metrics or None,
                "uptime_seconds": round(time.time() - c.started_at, 1)
                if c.state == "running" and c.started_at
                else None,
                "detail": c.detail,
            }
            for c in (state.components if state else [])
        ],
    }
