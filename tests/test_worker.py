"""`dagent worker` polls and answers the diagnostic ping, on the real dev server; each
test worker polls a task queue of its own."""

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from services import health, topology
from services.settings import load_settings
from services.worker import run_worker

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
