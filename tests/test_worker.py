"""`dagent worker` polls and answers the diagnostic ping, on the real dev server; each
test worker polls a task queue of its own."""

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from services import health, topology
from services.parts import WorkerParts
from services.settings import load_settings
from services.worker import build_worker, run_worker

pytestmark = pytest.mark.server


@pytest.mark.parametrize("name", list(topology.WORKERS))
async def test_worker_answers_on_its_own_queue(client: Client, name: str, tmp_path: Path) -> None:
    placement = topology.WORKERS[name]
    team_client = Client(client.service_client, namespace=placement.namespace)
    queue = f"test-{name}-{uuid.uuid4().hex[:8]}"
    running = asyncio.create_task(
        run_worker(name, load_settings(home=tmp_path), client=team_client, task_queue=queue)
    )
    try:
        result = await team_client.execute_workflow(
            health.PingWorkflow.run,
            health.PingInput(note="hello"),
            id=f"ping-{uuid.uuid4()}",
            task_queue=queue,
        )
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert result == health.PingResult(
        component=name, pid=os.getpid(), build_id=result.build_id, note="hello"
    )
    assert result.build_id.startswith("dagent-")


class _ImportSpy:
    """Sees every import that reaches the finders: one the sandbox makes afresh does."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.startswith(self.prefix):
            self.seen.append(name)


async def test_a_new_workflow_does_not_reimport_beartype(client: Client) -> None:
    """Once `fastmcp.Client` is imported (the mcp pattern's first turn does), beartype's
    import hook is in the process; a new workflow must not import beartype afresh in its
    sandbox (that cost +150 ms CPU and +4.4 MB for every workflow)."""
    from fastmcp import Client as McpClient  # noqa: F401  (installs the hook)

    assert "beartype.claw" in sys.modules, "fastmcp no longer brings beartype's hook: nothing to test"
    queue = f"test-beartype-{uuid.uuid4().hex[:8]}"
    ping = health.HealthActivities("orchestrator", "test")
    parts = WorkerParts(workflows=[health.PingWorkflow], activities=[ping.describe_worker])
    spy = _ImportSpy("beartype")
    sys.meta_path.insert(0, spy)
    try:
        async with build_worker(topology.ORCHESTRATOR, client, parts, task_queue=queue):
            for _ in range(2):
                await client.execute_workflow(
                    health.PingWorkflow.run, health.PingInput(), id=f"ping-{uuid.uuid4()}", task_queue=queue
                )
    finally:
        sys.meta_path.remove(spy)
    assert spy.seen == []
