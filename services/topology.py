"""Names and default ports of the dagent topology: the one source.

Teams, patterns, namespaces, task queues, Nexus endpoints and ports are declared
here once; everything else derives from them: the CLI's choices and flags, the
components the supervisor runs, the settings, the workers, the MCP servers and
the Terraform (once written). A new team is a `Team` here and its tools module in
`services/teams/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

ORCHESTRATOR = "orchestrator"
ORCHESTRATOR_NAMESPACE = "default"
ORCHESTRATOR_TASK_QUEUE = "orchestrator-task-queue"

# Every port the stack opens listens here only.
LOOPBACK = "127.0.0.1"
DEFAULT_TEMPORAL_PORT = 7233
DEFAULT_UI_PORT = 8233
# Ports every browser refuses to connect to (the Fetch standard's "bad ports", those a
# user may bind). The dev server's own HTTP listeners (its Web UI behind dagent's guard,
# its HTTP API, its metrics) go on these, so no web page can reach them, even through
# DNS rebinding; only dagent's guarded Web UI port is open to the browser.
BROWSER_REFUSED_PORTS = (1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566,
                         6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080)  # fmt: skip
# The dev server's listeners placed on them (when dagent runs it).
INTERNAL_LISTENERS = ("ui", "http", "metrics")
# Where the guarded Web UI serves the decode-only codec endpoint.
CODEC_PATH = "/dagent-codec"

Pattern = Literal["nexus", "agents-nexus", "mcp"]
PATTERNS: tuple[Pattern, ...] = get_args(Pattern)
DEFAULT_PATTERN: Pattern = "nexus"
# What sets the patterns apart, declared here instead of tested by name elsewhere.
AGENTS_SDK_PATTERNS: frozenset[Pattern] = frozenset({"agents-nexus", "mcp"})
MCP_PATTERNS: frozenset[Pattern] = frozenset({"mcp"})  # teams' tools reached over MCP

# Module names in services/teams/ that are not a team's.
NOT_TEAM_NAMES = frozenset({"local", "registry", "calculator", ORCHESTRATOR})
TEAM_NAME = re.compile(r"^[a-z][a-z0-9]{0,19}$")


@dataclass(frozen=True)
class Team:
    """A team that owns tools and serves them from its own namespace."""

    name: str
    title: str  # as people write it: "IT", "Finance"
    default_mcp_port: int

    def __post_init__(self) -> None:
        # The name becomes a module, a flag, an environment variable and Temporal names.
        if not TEAM_NAME.match(self.name) or self.name in NOT_TEAM_NAMES:
            raise ValueError(
                f"Team name {self.name!r}: use lower-case letters and digits, "
                f"and none of {', '.join(sorted(NOT_TEAM_NAMES))}."
            )

    @property
    def namespace(self) -> str:
        return f"{self.name}-namespace"

    @property
    def task_queue(self) -> str:
        return f"{self.name}-task-queue"

    @property
    def nexus_endpoint(self) -> str:
        return f"{self.name}-nexus-endpoint"

    @property
    def mcp_component(self) -> str:
        """The supervisor's name for the team's MCP server process."""
        return f"{self.name}-mcp"

    @property
    def mcp_port_variable(self) -> str:
        """The environment variable of its MCP server's port (the flag is its lower-case form)."""
        return f"DAGENT_{self.name.upper()}_MCP_PORT"

    @property
    def mcp_port_flag(self) -> str:
        """The `dagent up` flag of its MCP server's port."""
        return f"--{self.name}-mcp-port"


IT = Team(name="it", title="IT", default_mcp_port=8002)
FINANCE = Team(name="finance", title="Finance", default_mcp_port=8001)
TEAMS: dict[str, Team] = {team.name: team for team in (IT, FINANCE)}


def metrics_url(port: int) -> str:
    """Where a Prometheus scrapes a process of the stack: loopback only."""
    return f"http://{LOOPBACK}:{port}/metrics"


def mcp_url(port: int) -> str:
    """Where a team's MCP server listens (HTTP transport): loopback only."""
    return f"http://{LOOPBACK}:{port}/mcp"


@dataclass(frozen=True)
class WorkerPlacement:
    """Where one worker process polls."""

    namespace: str
    task_queue: str


WORKERS: dict[str, WorkerPlacement] = {
    ORCHESTRATOR: WorkerPlacement(ORCHESTRATOR_NAMESPACE, ORCHESTRATOR_TASK_QUEUE),
    **{team.name: WorkerPlacement(team.namespace, team.task_queue) for team in TEAMS.values()},
}


def metrics_listener(worker: str) -> str:
    """The name of a worker's /metrics among the stack's internal ports."""
    return f"{worker}-metrics"


WORKER_METRICS_LISTENERS = tuple(metrics_listener(worker) for worker in WORKERS)
