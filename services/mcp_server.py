"""A team's MCP server: loopback only, Host/Origin checked.

The team's tools are registered here as they are added to the tool registry.
"""

from __future__ import annotations

import logging

from fastmcp import FastMCP

from services import topology

logger = logging.getLogger("dagent.mcp")


def build_server(team: topology.Team) -> FastMCP:
    return FastMCP(
        name=f"dagent-{team.name}",
        instructions=f"Tools of the {team.name} team, served by dagent.",
    )


async def serve(team_name: str, transport: str, port: int) -> None:
    team = topology.TEAMS[team_name]
    server = build_server(team)
    if transport == "stdio":
        await server.run_stdio_async(show_banner=False)
        return
    logger.info("MCP server %s on http://127.0.0.1:%s/mcp", team.name, port)
    await server.run_http_async(
        show_banner=False,
        host="127.0.0.1",
        port=port,
        # FastMCP leaves DNS-rebinding protection off unless asked.
        host_origin_protection="auto",
    )
