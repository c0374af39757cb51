"""Readiness: each component is judged by what it does, never by a sleep."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from services import topology
from services.worker import worker_identity


async def worker_is_polling(client: Client, name: str, pid: int) -> bool:
    """True once the worker process `pid` has a poller on its task queue."""
    placement = topology.WORKERS[name]
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=placement.namespace,
            task_queue=TaskQueue(name=placement.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    identity = worker_identity(name, pid)
    return any(poller.identity == identity for poller in response.pollers)
