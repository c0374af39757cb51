"""Overload is not an outage: a call to a team's service that no worker picked up in
time, or that timed out, opens the service's circuit only when no worker of the team
is taking tasks. One that is (a burst of our own conversations queued up behind it)
is called again, patiently: with no limit on the wait in the queue, only on the whole
call. Runs inside workflows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from services.failures import causes
    from services.orchestrator.activities import QueueActivities, ServiceQuery

T = TypeVar("T")

# Since this patch a timed-out call to a busy service is made again (older histories
# replay as they ran: the circuit opened).
BUSY_IS_NOT_DOWN = "dagent-busy-is-not-down"


async def patiently(service: str, call: Callable[[bool], Awaitable[T]]) -> T:
    """`call(False)`; if that timed out while a worker of `service` is taking tasks,
    `call(True)`: the same call, patient."""
    try:
        return await call(False)
    except Exception as exc:
        if not (timed_out(exc) and workflow.patched(BUSY_IS_NOT_DOWN) and await busy(service)):
            raise
    workflow.logger.info("the %s service is busy, not down: calling it again", service)
    return await call(True)


def timed_out(error: BaseException) -> bool:
    return any(isinstance(cause, TemporalTimeoutError) for cause in causes(error))


async def busy(service: str) -> bool:
    return await workflow.execute_local_activity_method(
        QueueActivities.service_busy,
        ServiceQuery(team=service),
        start_to_close_timeout=timedelta(seconds=3),
        retry_policy=RetryPolicy(maximum_attempts=2),
        summary=f"is the {service} service busy?",
    )
