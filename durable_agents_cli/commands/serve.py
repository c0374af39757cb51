"""`dagent worker` and `dagent mcp serve`: one component in the foreground."""

from __future__ import annotations

import asyncio
import logging
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from services import topology
from services.settings import load_settings

if TYPE_CHECKING:
    from typing import TypeAlias

    WorkerName: TypeAlias = str
    TeamName: TypeAlias = str
else:  # Literals made from the topology: Typer offers exactly these names
    WorkerName = Literal[tuple(topology.WORKERS)]
    TeamName = Literal[tuple(topology.TEAMS)]


class McpTransport(StrEnum):
    stdio = "stdio"
    http = "http"


def _configure_logging(level: str) -> None:
    # stderr only: over stdio, stdout carries the MCP protocol.
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def worker(
    name: Annotated[WorkerName, typer.Argument(help="Which worker to run.")],
) -> None:
    """Run one worker in the foreground (what `dagent up` spawns)."""
    settings = load_settings()
    _configure_logging(settings.log_level)
    from services.worker import run_worker

    asyncio.run(run_worker(name, settings))


def mcp_serve(
    name: Annotated[TeamName, typer.Argument(help="Whose tools to serve.")],
    transport: Annotated[
        McpTransport, typer.Option(help="stdio for MCP clients that launch it.")
    ] = McpTransport.stdio,
    port: Annotated[
        int | None,
        typer.Option(
            help="HTTP port; default "
            + " / ".join(team.mcp_port_variable for team in topology.TEAMS.values())
            + "."
        ),
    ] = None,
) -> None:
    """Run one team's MCP server in the foreground."""
    settings = load_settings()
    _configure_logging(settings.log_level)
    from services.toolservice.mcp_server import serve

    asyncio.run(serve(name, transport.value, port or settings.mcp_port(name), settings.home))


def register(app: typer.Typer) -> None:
    app.command()(worker)
    mcp = typer.Typer(help="Serve a team's tools over the Model Context Protocol.", no_args_is_help=True)
    mcp.command("serve")(mcp_serve)
    app.add_typer(mcp, name="mcp")
