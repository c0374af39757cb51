"""Run one dagent worker process: the orchestrator, or a team's tool service.

This is what `dagent worker NAME` runs and what the supervisor spawns; a team
can run the same thing on its own against any Temporal server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from services import BUILD_ID, health, temporal, topology
from services.errors import ConfigError
from services.settings import DagentSettings

logger = logging.getLogger("dagent.worker")

MAX_CONCURRENT_WORKFLOW_TASKS = 16

# Set by the supervisor; a worker whose supervisor vanished stops by itself.
SUPERVISOR_PID_ENV = "DAGENT_SUPERVISOR_PID"


@dataclass
class WorkerParts:
    """What one worker registers on its task queue."""

    workflows: Sequence[type] = ()
    activities: Sequence[Callable[..., Any]] = ()
    nexus_service_handlers: Sequence[object] = ()


def worker_identity(name: str, pid: int | None = None) -> str:
    """Identity of a worker process as its pollers report it to Temporal."""
    return f"{name}-{pid or os.getpid()}@{socket.gethostname()}"


def parts_for(name: str, client: Client, settings: DagentSettings) -> WorkerParts:
    diagnostics = health.HealthActivities(name, BUILD_ID)
    common = WorkerParts(workflows=[health.PingWorkflow], activities=[diagnostics.describe_worker])
    specific = orchestrator_parts(client, settings) if name == "orchestrator" else team_parts(name, settings)
    return WorkerParts(
        workflows=[*common.workflows, *specific.workflows],
        activities=[*common.activities, *specific.activities],
        nexus_service_handlers=specific.nexus_service_handlers,
    )


def orchestrator_parts(client: Client, settings: DagentSettings) -> WorkerParts:
    from services.orchestrator import llm
    from services.orchestrator.discovery import ToolCatalogWorkflow
    from services.orchestrator.endpoints import EndpointActivities
    from services.orchestrator.mcp_catalog import McpCatalogActivities
    from services.toolservice.activities import ToolActivities

    mcp_catalog = McpCatalogActivities(
        settings.home, {"it": settings.it_mcp_port, "finance": settings.finance_mcp_port}
    )
    return WorkerParts(
        workflows=[conversation_class(settings.pattern), ToolCatalogWorkflow],
        activities=[
            llm.LlmActivities(settings.model).call_llm,
            ToolActivities("orchestrator", settings.tool_delays()).run_tool,
            EndpointActivities(client).missing_endpoints,
            mcp_catalog.list_mcp_tools,
        ],
    )


def conversation_class(pattern: str) -> type:
    if pattern == "nexus":
        from services.orchestrator.conversation import NexusConversation

        return NexusConversation
    if pattern == "agents-nexus":
        from services.orchestrator.agents_conversation import AgentsConversation

        return AgentsConversation
    if pattern == "mcp":
        from services.orchestrator.agents_conversation import McpConversation

        return McpConversation
    raise ConfigError(f"Unknown pattern '{pattern}'; known: nexus, agents-nexus, mcp.")


async def connect_worker_client(name: str, settings: DagentSettings, address: str | None = None) -> Client:
    """The worker's client; the Agents SDK patterns' orchestrator gets the OpenAI Agents plugin."""
    namespace = topology.WORKERS[name].namespace
    return await temporal.connect(namespace, address=address, **client_options(name, settings))


def client_options(name: str, settings: DagentSettings) -> dict[str, Any]:
    """Data converter and plugins of the worker's client: what its payloads look like."""
    if name != "orchestrator" or settings.pattern == "nexus":
        return {}
    # Quiet and offline: no trace export unless the user configured it.
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from temporalio.converter import DataConverter
    from temporalio.openai_agents import OpenAIAgentsPlugin

    from services.orchestrator.agents_model import ConfiguredModelProvider, model_activity_parameters

    plugin = OpenAIAgentsPlugin(
        model_params=model_activity_parameters(),
        model_provider=ConfiguredModelProvider(settings.model),
        mcp_servers=mcp_server_factories(settings) if settings.pattern == "mcp" else None,
    )
    # The plugin brings its own (pydantic-aware) payload converter.
    return {"data_converter": DataConverter.default, "plugins": [plugin]}


def replayer_options(settings: DagentSettings) -> dict[str, Any]:
    """What a Replayer needs to replay any workflow the stack of `settings.pattern` ran."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    options: dict[str, Any] = {"data_converter": pydantic_data_converter}
    options.update(client_options("orchestrator", settings))
    workflows = {
        workflow
        for name in topology.WORKERS
        for workflow in parts_for(name, None, settings).workflows  # type: ignore[arg-type]
    }
    return {**options, "workflows": list(workflows)}


def team_parts(team: str, settings: DagentSettings) -> WorkerParts:
    from services.toolservice.activities import ToolActivities
    from services.toolservice.handler import ToolServiceHandler
    from services.toolservice.workflows import ToolWorkflow

    return WorkerParts(
        workflows=[ToolWorkflow],
        activities=[ToolActivities(team, settings.tool_delays()).run_tool],
        nexus_service_handlers=[ToolServiceHandler(team)],
    )


def build_worker(name: str, client: Client, settings: DagentSettings) -> Worker:
    placement = topology.WORKERS[name]
    parts = parts_for(name, client, settings)
    return Worker(
        client,
        task_queue=placement.task_queue,
        workflows=parts.workflows,
        activities=parts.activities,
        nexus_service_handlers=parts.nexus_service_handlers,
        # An explicit build id spares the SDK from hashing every loaded module.
        build_id=BUILD_ID,
        identity=worker_identity(name),
        # One event loop cannot work on more tasks than this at once without
        # delaying all of them; a task left waiting in the worker past the
        # server's 10 s workflow-task timeout fails, while one left on the
        # server just waits. So under a burst, the backlog stays on the server.
        max_concurrent_workflow_tasks=MAX_CONCURRENT_WORKFLOW_TASKS,
    )


async def run_worker(name: str, settings: DagentSettings, client: Client | None = None) -> None:
    """Poll until SIGTERM/SIGINT, or until the supervisor that spawned us is gone."""
    if name not in topology.WORKERS:
        known = ", ".join(topology.WORKERS)
        raise ConfigError(f"Unknown worker '{name}'; known workers: {known}.")
    placement = topology.WORKERS[name]
    loop = asyncio.get_running_loop()
    warm_up = _warm_up(loop) if name == "orchestrator" else None
    if client is None:
        client = await connect_worker_client(name, settings)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watchdog = asyncio.create_task(_watch_supervisor(stop))
    worker = build_worker(name, client, settings)
    if warm_up is not None:
        # Polling starts now; a turn that arrives before the import is done waits
        # for it. Gating readiness on it would add ~3-4 s to every `dagent up`.
        warm_up.add_done_callback(lambda _: logger.info("LiteLLM loaded"))
    logger.info(
        "worker %s polling %s/%s (model %s)",
        name,
        placement.namespace,
        placement.task_queue,
        settings.model,
    )
    try:
        async with worker:
            await stop.wait()
    finally:
        watchdog.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    logger.info("worker %s stopped", name)


def mcp_server_factories(settings: DagentSettings) -> dict[str, Callable[[], Any]]:
    """How the orchestrator reaches each team's MCP server: resolved worker-side, so the
    bearer token never enters workflow history."""
    from agents.mcp import MCPServerStreamableHttp

    from services.orchestrator.mcp_catalog import mcp_token, mcp_url

    def factory(team: str) -> Callable[[], Any]:
        def make() -> Any:
            return MCPServerStreamableHttp(
                name=f"dagent-{team}",
                params={
                    "url": mcp_url(settings.mcp_port(team)),
                    "headers": {"Authorization": f"Bearer {mcp_token(settings.home)}"},
                    "timeout": 35,
                },
                cache_tools_list=True,
                client_session_timeout_seconds=35,
            )

        return make

    return {team: factory(team) for team in topology.TEAMS}


def _warm_up(loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    """Import LiteLLM (seconds) in a thread, overlapping the connection to Temporal.

    A daemon thread, so a worker told to stop mid-import exits at once instead
    of waiting for the import to finish.
    """
    from services.orchestrator.llm import load_litellm

    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def load() -> None:
        load_litellm()
        with contextlib.suppress(RuntimeError):  # the worker stopped meanwhile
            loop.call_soon_threadsafe(finish)

    threading.Thread(target=load, name="litellm-import", daemon=True).start()
    return done


async def _watch_supervisor(stop: asyncio.Event) -> None:
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if not supervisor:
        return
    # The parent changes when it dies (we are re-parented); there is no event to await.
    while os.getppid() == int(supervisor):  # noqa: ASYNC110
        await asyncio.sleep(1)
    logger.warning("supervisor %s is gone; stopping", supervisor)
    stop.set()
