"""Run one dagent worker process from its parts: the orchestrator, or a team's tool service.

This is what `dagent worker NAME` runs and what the supervisor spawns; a team
can run the same thing on its own against any Temporal server. What each worker
registers comes from its role's `parts` module; this module only runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from services import BUILD_ID, health, limits, temporal, topology
from services.errors import ConfigError
from services.parts import WorkerParts
from services.settings import SUPERVISOR_PID_ENV, DagentSettings, warm_marker
from services.telemetry import tracing
from services.telemetry.retries import CountRetries

logger = logging.getLogger("dagent.worker")

# One event loop cannot work on more tasks than this at once without delaying all
# of them; a task left waiting in the worker past the server's 10 s workflow-task
# timeout fails, while one left on the server just waits. So under a burst, the
# backlog stays on the server.
MAX_CONCURRENT_WORKFLOW_TASKS = 16

# `fastmcp.Client` imports py-key-value-aio, whose `__init__` installs beartype's
# import hook for the whole process. A sandbox that re-imports beartype would then
# run it again for every module of every new workflow (+150 ms CPU and +4.4 MB per
# cached workflow, measured); beartype keeps no workflow state, so it is shared.
# OpenTelemetry's context and the tracer provider are the process's own: passed
# through, as Temporal's OpenTelemetry plugin does when tracing is on; so are the
# process's Prometheus metrics (workflows record a turn once, not on replay).
SANDBOX_PASSTHROUGH = ("beartype", "opentelemetry", "prometheus_client")


def worker_identity(name: str, pid: int | None = None) -> str:
    """Identity of a worker process as its pollers report it to Temporal."""
    return f"{name}-{pid or os.getpid()}@{socket.gethostname()}"


def parts_for(name: str, settings: DagentSettings) -> WorkerParts:
    """The diagnostic ping, plus what the orchestrator or the named team runs."""
    if name not in topology.WORKERS:
        raise ConfigError(f"Unknown worker '{name}'; known workers: {', '.join(topology.WORKERS)}.")
    if name == topology.ORCHESTRATOR:
        from services.orchestrator import parts as orchestrator

        role = orchestrator.worker_parts(settings)
    else:
        from services.toolservice import parts as toolservice

        role = toolservice.worker_parts(name, settings)
    ping = health.HealthActivities(name, BUILD_ID)
    return WorkerParts(
        workflows=[health.PingWorkflow, *role.workflows],
        activities=[ping.describe_worker, *role.activities],
        nexus_service_handlers=role.nexus_service_handlers,
        interceptors=[*role.interceptors, CountRetries()],
        warm_up=role.warm_up,
    )


def client_options(name: str, settings: DagentSettings) -> dict[str, Any]:
    """Data converter (with the stack's payload codec), plugins and interceptors of the
    worker's client."""
    if name != topology.ORCHESTRATOR:
        from services.identity.headers import ClientIdentity, call_token

        # A team's Nexus handler starts its tool workflow with the caller's token.
        return {
            "data_converter": temporal.sealed_converter(settings.home, settings.encrypt),
            "interceptors": [ClientIdentity(call_token.get)],
            "plugins": tracing.plugins(),
        }
    from services.orchestrator import parts as orchestrator

    options = orchestrator.client_options(settings)
    converter = options.get("data_converter", temporal.DATA_CONVERTER)
    return {
        **options,
        "data_converter": temporal.sealed_converter(settings.home, settings.encrypt, converter),
        "plugins": [*options.get("plugins", []), *tracing.plugins()],
    }


async def connect_worker_client(
    name: str, settings: DagentSettings, address: str | None = None, runtime: Runtime | None = None
) -> Client:
    options = client_options(name, settings)
    if runtime is not None:
        options["runtime"] = runtime
    return await temporal.connect(topology.WORKERS[name].namespace, address=address, **options)


async def _serve_metrics(
    settings: DagentSettings, scope: contextlib.AsyncExitStack, with_sdk: bool
) -> Runtime | None:
    """With a metrics port set: serve /metrics for as long as `scope` lasts; `with_sdk`,
    also return the Temporal runtime for the worker's client, whose metrics it shows."""
    if settings.metrics_port is None:
        return None
    from services.telemetry import metrics_server

    server = metrics_server.serve(settings.metrics_port, settings.home)
    scope.callback(server.server_close)
    scope.callback(server.shutdown)
    logger.info("metrics at %s", topology.metrics_url(settings.metrics_port))
    if not with_sdk:
        return None
    runtime, exporter, unregister = metrics_server.sdk_metrics()
    scope.callback(unregister)
    await scope.enter_async_context(exporter)
    return runtime


def replayer_options(settings: DagentSettings) -> dict[str, Any]:
    """What a `Replayer` needs to replay any workflow a stack of `settings.pattern` ran."""
    parts = {name: parts_for(name, settings) for name in topology.WORKERS}
    workflows = {workflow for role in parts.values() for workflow in role.workflows}
    options = {"data_converter": temporal.DATA_CONVERTER, **client_options(topology.ORCHESTRATOR, settings)}
    # The conversations' interceptors: who sent each message is read from its header.
    interceptors = list(parts[topology.ORCHESTRATOR].interceptors)
    return {
        **options,
        "workflows": list(workflows),
        "interceptors": interceptors,
        "workflow_runner": sandbox_runner(),
    }


def build_worker(
    name: str,
    client: Client,
    parts: WorkerParts,
    task_queue: str | None = None,
    cache: int = limits.DEFAULT_WORKFLOW_CACHE,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or topology.WORKERS[name].task_queue,
        workflows=parts.workflows,
        activities=parts.activities,
        nexus_service_handlers=parts.nexus_service_handlers,
        interceptors=parts.interceptors,
        # An explicit build id spares the SDK from hashing every loaded module.
        build_id=BUILD_ID,
        identity=worker_identity(name),
        max_concurrent_workflow_tasks=MAX_CONCURRENT_WORKFLOW_TASKS,
        max_cached_workflows=cache,
        workflow_runner=sandbox_runner(),
    )


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
    )


async def run_worker(
    name: str,
    settings: DagentSettings,
    client: Client | None = None,
    task_queue: str | None = None,
    address: str | None = None,
) -> None:
    """Poll until SIGTERM/SIGINT, or until the supervisor that spawned us is gone.

    `client` defaults to one on the worker's namespace at `address` (else where
    Temporal's configuration points); `task_queue` to the worker's own queue."""
    tracing.start(name, settings.home)
    parts = parts_for(name, settings)
    loop = asyncio.get_running_loop()
    if parts.warm_up is not None:
        # Overlaps the connection to Temporal; the marker says when it is done.
        _warm_up(loop, parts.warm_up, warm_marker(settings.home, name))
    async with contextlib.AsyncExitStack() as scope:
        runtime = await _serve_metrics(settings, scope, with_sdk=client is None)
        if client is None:
            client = await connect_worker_client(name, settings, address, runtime)
            if name in topology.TEAMS:
                from services.identity.keys import require_local_key_set

                require_local_key_set(settings.home)
        queue = task_queue or topology.WORKERS[name].task_queue
        worker = build_worker(name, client, parts, queue, settings.workflow_cache)
        logger.info("worker %s polling %s/%s (model %s)", name, client.namespace, queue, settings.model)
        await _poll(name, worker)


async def _poll(name: str, worker: Worker) -> None:
    """Run `worker` until SIGTERM/SIGINT, or until the supervisor is gone."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watchdog = asyncio.create_task(_watch_supervisor(stop))
    try:
        async with worker:
            await stop.wait()
    finally:
        watchdog.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    logger.info("worker %s stopped", name)


def _warm_up(loop: asyncio.AbstractEventLoop, prepare: Callable[[], None], marker: Path) -> None:
    """Run `prepare` in a daemon thread, so a worker told to stop mid-way exits at once;
    then write this process's pid to `marker`.

    Polling starts meanwhile; gating readiness on it would add seconds to every `dagent up`.
    """

    def run() -> None:
        prepare()
        with contextlib.suppress(OSError):  # a read-only home only loses the hint
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(str(os.getpid()))
        with contextlib.suppress(RuntimeError):  # the worker stopped meanwhile
            loop.call_soon_threadsafe(logger.info, "warm-up done (%s)", prepare.__name__)

    threading.Thread(target=run, name="warm-up", daemon=True).start()


async def _watch_supervisor(stop: asyncio.Event) -> None:
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if not supervisor:
        return
    # The parent changes when it dies (we are re-parented); there is no event to await.
    while os.getppid() == int(supervisor):  # noqa: ASYNC110
        await asyncio.sleep(1)
    logger.warning("supervisor %s is gone; stopping", supervisor)
    stop.set()
