"""Counts every activity attempt after the first, in the worker's metrics: a tool or
model that needs retries shows before it fails."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from services.telemetry import metrics


class CountRetries(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Counting(next)


class _Counting(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.attempt > 1:
            metrics.RETRIES.labels(info.activity_type).inc()
        return await self.next.execute_activity(input)
