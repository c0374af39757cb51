"""`dagent worker` and `dagent mcp serve`: one component in the foreground."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from durable_agents_cli import console
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import as_the_stack_runs, read_config
from services import topology
from services.settings import DagentSettings, load_settings

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


def _configure_logging(settings: DagentSettings, component: str) -> None:
    from services import logs

    logs.configure(settings.log_level, settings.log_format, component)


def temporal_address(settings: DagentSettings) -> str:
    """Where the component finds Temporal: Temporal's own configuration if the user set
    one (TEMPORAL_ADDRESS, a profile), else the server of the stack in DAGENT_HOME,
    else the embedded server's port (DAGENT_TEMPORAL_PORT)."""
    from services import temporal

    configured = temporal.external_address()
    if configured:
        return configured
    stack = read_config(StackPaths(settings.home))
    return stack.temporal_address if stack else f"{topology.LOOPBACK}:{settings.temporal_port}"


def worker(
    name: Annotated[
        WorkerName,
        typer.Argument(metavar="NAME", help="Which worker to run: " + ", ".join(topology.WORKERS) + "."),
    ],
    metrics_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Loopback port for Prometheus /metrics; default DAGENT_METRICS_PORT (unset: none).",
        ),
    ] = None,
) -> None:
    """Run one worker in the foreground (what `dagent up` spawns)."""
    settings = as_the_stack_runs(load_settings(metrics_port=metrics_port))
    _configure_logging(settings, name)
    from services.worker import run_worker

    asyncio.run(run_worker(name, settings, address=temporal_address(settings)))


def mcp_serve(
    name: Annotated[
        TeamName,
        typer.Argument(metavar="TEAM", help="Whose tools to serve: " + ", ".join(topology.TEAMS) + "."),
    ],
    transport: Annotated[
        McpTransport,
        typer.Option(
            metavar="stdio|http", help="stdio for MCP clients that launch it, http for a local server."
        ),
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
    settings = as_the_stack_runs(load_settings())
    _configure_logging(settings, topology.TEAMS[name].mcp_component)
    from services.toolservice.mcp_server import serve

    address = temporal_address(settings)
    asyncio.run(
        serve(
            name,
            transport.value,
            port or settings.mcp_port(name),
            settings.home,
            address=address,
            encrypt=settings.encrypt,
        )
    )


def web(
    upstream_port: Annotated[
        int, typer.Option(metavar="PORT", help="Port of the dev server's own Web UI, behind the guard.")
    ],
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="Port to serve on; default DAGENT_UI_PORT.")
    ] = None,
) -> None:
    """Serve the Temporal Web UI behind dagent's Host/Origin guard, with a decode-only
    codec endpoint, in the foreground (what `dagent up` spawns)."""
    settings = load_settings()
    _configure_logging(settings, "web")
    from services.webui import serve

    asyncio.run(serve(port or settings.ui_port, upstream_port, settings.home, settings.encrypt))


def register(app: typer.Typer) -> None:
    app.command(
        epilog=console.examples(
            "dagent worker it", "TEMPORAL_ADDRESS=temporal.example:7233 dagent worker finance"
        )
    )(worker)
    mcp = typer.Typer(help="Serve a team's tools over the Model Context Protocol.", no_args_is_help=True)
    mcp.command(
        "serve",
        epilog=console.examples(
            "dagent mcp serve finance", "dagent mcp serve it --transport http --port 8002"
        ),
    )(mcp_serve)
    app.add_typer(mcp, name="mcp")
    app.command(epilog=console.examples("dagent web --upstream-port 6666"))(web)
