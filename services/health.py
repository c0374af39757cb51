"""A diagnostic every dagent worker serves: which process answers on a queue.

`dagent.ping` runs one activity on the worker's own task queue, so a reply
proves that workflow and activity polling both work, and names the process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@dataclass
class PingInput:
    note: str = ""


@dataclass
class PingResult:
    component: str
    pid: int
    build_id: str
    note: str = ""


class HealthActivities:
    def __init__(self, component: str, build_id: str) -> None:
        self._component = component
        self._build_id = build_id

    @activity.defn(name="dagent.describe_worker")
    async def describe_worker(self, request: PingInput) -> PingResult:
        return PingResult(self._component, os.getpid(), self._build_id, request.note)


@workflow.defn(name="dagent.ping")
class PingWorkflow:
    @workflow.run
    async def run(self, request: PingInput) -> PingResult:
        return await workflow.execute_activity_method(
            HealthActivities.describe_worker,
            request,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
