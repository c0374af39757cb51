"""Overload is not an outage: a call to a team's service that timed out opens the
service's circuit only when no worker of the team is taking tasks. When one is (a burst
of our own conversations queued up behind it), the call is made again, patiently: with
no limit on the wait in the queue, only on the whole call. Runs inside workflows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from services.failures import causes
    from services.orchestrator.activities import QueueActivities, ServiceQuery

T = TypeVar("T")

# Since this patch a timed-out call to a busy service is made again (older histories
# replay as they ran: the circuit opened).
BUSY_IS_NOT_DOWN = "dagent-busy-is-not-down"
# A worker working through a backlog asks for its next task within a moment of the
# last; well below the shortest first wait (a tool list's 5 s), so that a request
# made when the call was handed out does not count at its timeout.
RECENT = timedelta(seconds=2)


def timed_out(error: BaseException) -> bool:
    """Any timeout: only for calls that read (a tool list), which may run twice."""
    return any(isinstance(cause, TemporalTimeoutError) for cause in causes(error))


async def patiently(
    service: str, call: Callable[[bool], Awaitable[T]], again_if: Callable[[BaseException], bool]
) -> T:
    """`call(False)`; if that failed as `again_if` says while a worker of `service` took
    tasks from its queue, `call(True)`: the same call, patient."""
    called = workflow.now()
    try:
        return await call(False)
    except Exception as exc:
        if not (again_if(exc) and workflow.patched(BUSY_IS_NOT_DOWN)):
            raise
        # A worker that died before the call never counts, nor one whose last request
        # for a task is older than a busy worker's ever is (a frozen worker's pending
        # request can still be handed the call: that counts as a request then).
        since = max(called, workflow.now() - RECENT)
        if not await _busy(service, since):
            raise
    workflow.logger.info("the %s service is busy, not down: calling it again", service)
    return await call(True)


async def _busy(service: str, since: datetime) -> bool:
    """Whether a worker of `service` asked for a task after `since` (the server's clock,
    as the workflow's is). Unknown counts as not."""
    try:
        return await workflow.execute_local_activity_method(
            QueueActivities.service_busy,
            ServiceQuery(team=service, since=since),
            start_to_close_timeout=timedelta(seconds=3),
            retry_policy=RetryPolicy(maximum_attempts=2),
            summary=f"is the {service} service busy?",
        )
    except ActivityError:
        return False
