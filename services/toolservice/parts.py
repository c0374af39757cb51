"""What a team's worker runs: the tool workflow, the tool activity and the Nexus handler."""

from __future__ import annotations

from services.identity.interceptors import WorkerIdentity
from services.parts import WorkerParts
from services.settings import DagentSettings
from services.toolservice.activities import ToolActivities
from services.toolservice.handler import ToolServiceHandler
from services.toolservice.workflows import TOOL_WORKFLOW, ToolWorkflow


def worker_parts(team: str, settings: DagentSettings) -> WorkerParts:
    return WorkerParts(
        workflows=[ToolWorkflow],
        activities=[ToolActivities(team, settings.home, settings.tool_delays()).run_tool],
        nexus_service_handlers=[ToolServiceHandler(team, settings.home)],
        interceptors=[WorkerIdentity(forwarding=frozenset({TOOL_WORKFLOW}))],
    )
