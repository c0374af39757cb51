"""Names and default ports of the dagent topology.

The single source of truth for namespaces, task queues, Nexus endpoints and
ports: the CLI, the workers, the MCP servers and the Terraform variables all
read this module, so a rename happens in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

ORCHESTRATOR_NAMESPACE = "default"
ORCHESTRATOR_TASK_QUEUE = "orchestrator-task-queue"

DEFAULT_TEMPORAL_PORT = 7233
DEFAULT_UI_PORT = 8233


@dataclass(frozen=True)
class Team:
    """A team that owns tools and serves them from its own namespace."""

    name: str
    namespace: str
    task_queue: str
    nexus_endpoint: str
    default_mcp_port: int


IT = Team(
    name="it",
    namespace="it-namespace",
    task_queue="it-task-queue",
    nexus_endpoint="it-nexus-endpoint",
    default_mcp_port=8002,
)
FINANCE = Team(
    name="finance",
    namespace="finance-namespace",
    task_queue="finance-task-queue",
    nexus_endpoint="finance-nexus-endpoint",
    default_mcp_port=8001,
)
TEAMS: dict[str, Team] = {team.name: team for team in (IT, FINANCE)}

PATTERNS = ("nexus", "agents-nexus", "mcp")
DEFAULT_PATTERN = "nexus"


@dataclass(frozen=True)
class WorkerPlacement:
    """Where one worker process polls."""

    namespace: str
    task_queue: str


WORKERS: dict[str, WorkerPlacement] = {
    "orchestrator": WorkerPlacement(ORCHESTRATOR_NAMESPACE, ORCHESTRATOR_TASK_QUEUE),
    **{team.name: WorkerPlacement(team.namespace, team.task_queue) for team in TEAMS.values()},
}
