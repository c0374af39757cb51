"""A busy tool service is not a service that is down: on the real dev server, a Finance
worker that takes its Nexus tasks one at a time and starts each tool slowly, so that a
burst of new conversations leaves calls waiting in its queue longer than a start (or
a listing) may wait. Every conversation still gets its right answer and no circuit
opens; the same worker stopped is still an outage, told as such after the start's
wait.

The starts are slow only until the first call has timed out, and never up to their
own deadline (see `_slow_for`): a queue that stayed
longer than the server's own 10 s deadline for a Nexus request would have the server
retry the request with back-off, and a slow machine would turn the burst into
timeouts of whole calls (as a CI run did), a different case from the one tested."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import (
    ExecuteNexusOperationStartInput,
    Interceptor,
    NexusOperationInboundInterceptor,
    Worker,
)

from services import bootstrap, conversation, topology
from services.identity.acting import Acting
from services.identity.keys import ensure_local_keys
from services.orchestrator import busy
from services.orchestrator.discovery import LIST_TOOLS_TIMEOUT
from services.orchestrator.tool_calls import NEXUS_START_TIMEOUT
from services.payloads import keyring
from services.settings import DagentSettings, warm_marker
from services.worker import connect_worker_client, parts_for, run_worker
from tests.helpers import eventually, front_end_client, stop_tasks

pytestmark = pytest.mark.server

# Each start takes this long and the worker takes one task at a time: the last tasks of
# the burst wait in the queue for longer than a start may (NEXUS_START_TIMEOUT).
START_SECONDS = 1.0
BURST = int(NEXUS_START_TIMEOUT.total_seconds() / START_SECONDS) + 4
QUESTION = "What's the stock price of TSLA?"


class SlowStarts(Interceptor):
    """Each tool start takes `START_SECONDS` until `quick` is set."""

    def __init__(self, quick: asyncio.Event) -> None:
        self.quick = quick

    def intercept_nexus_operation(
        self, next: NexusOperationInboundInterceptor
    ) -> NexusOperationInboundInterceptor:
        return _SlowStart(next, self.quick)


class _SlowStart(NexusOperationInboundInterceptor):
    def __init__(self, next: NexusOperationInboundInterceptor, quick: asyncio.Event) -> None:
        super().__init__(next)
        self.quick = quick

    async def execute_nexus_operation_start(self, input: ExecuteNexusOperationStartInput) -> Any:
        if input.ctx.operation == "execute_tool" and not self.quick.is_set():
            await asyncio.sleep(_slow_for(input.ctx.request_deadline))
        return await self.next.execute_nexus_operation_start(input)


def _slow_for(deadline: datetime | None) -> float:
    """`START_SECONDS`, but never up to the request's deadline: a start the server gives
    up on mid-way is cancelled in the worker, and the SDK's worker (1.35) can then stop
    asking for Nexus tasks altogether (seen here: its last poll 20 s old, nothing running)."""
    if deadline is None:
        return START_SECONDS
    left = (deadline - datetime.now(UTC)).total_seconds()
    return max(0.0, min(START_SECONDS, left - 0.5))


@dataclass
class Busy:
    client: Client
    finance: Worker
    quick: asyncio.Event


@pytest_asyncio.fixture(loop_scope="session")
async def busy_finance(dev_server: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Busy]:
    home = tmp_path_factory.mktemp("busy-home")
    ensure_local_keys(home)
    keyring.ensure(home)
    settings = DagentSettings(home=home, pattern="nexus")
    tasks = []
    for name in (topology.ORCHESTRATOR, "it"):
        worker_client = await connect_worker_client(name, settings, address=dev_server)
        await bootstrap.ensure_topology(worker_client)
        tasks.append(asyncio.create_task(run_worker(name, settings, client=worker_client)))
    parts = parts_for("finance", settings)
    quick = asyncio.Event()
    finance = Worker(
        await connect_worker_client("finance", settings, address=dev_server),
        task_queue=topology.WORKERS["finance"].task_queue,
        workflows=parts.workflows,
        activities=parts.activities,
        nexus_service_handlers=parts.nexus_service_handlers,
        interceptors=[*parts.interceptors, SlowStarts(quick)],
        max_concurrent_nexus_tasks=1,
    )
    tasks.append(asyncio.create_task(finance.run()))
    client = await front_end_client(dev_server, home, Acting(settings).token)
    # The orchestrator's warm-up (LiteLLM's import) takes this process's CPU for seconds:
    # over before the burst, so the finance worker here is not starved of it.
    await asyncio.to_thread(eventually, warm_marker(home, topology.ORCHESTRATOR).exists, 120)
    try:
        yield Busy(client, finance, quick)
    finally:
        await stop_tasks(tasks)


async def _ask(client: Client, session: str) -> str:
    return (await conversation.send(client, session, QUESTION, pattern="nexus")).text


async def _finance_circuit(client: Client, session: str) -> str:
    progress = await conversation.progress(client, session)
    return next(c.state for c in progress.circuits if c.service == "finance")


async def _timeouts(client: Client, session: str, started: bool = True) -> int:
    """Calls of the session that timed out (none yet, if it may not have `started`)."""
    handle = client.get_workflow_handle(f"dagent-chat-{session}")
    try:
        return len(
            [
                event
                async for event in handle.fetch_history_events()
                if event.event_type == EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT
            ]
        )
    except RPCError as exc:
        if started or exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return 0


async def _tool_runs(client: Client, since: datetime) -> int:
    finance = Client(client.service_client, namespace=topology.TEAMS["finance"].namespace)
    query = f"WorkflowType = 'dagent.ToolWorkflow' AND StartTime >= '{since.isoformat()}'"
    return len([execution async for execution in finance.list_workflows(query)])


async def _until_a_call_timed_out(client: Client, sessions: list[str], asking: asyncio.Future[Any]) -> None:
    """Until one of the sessions' histories shows a call that timed out, or all are answered."""
    while not asking.done():
        if sum([await _timeouts(client, s, started=False) for s in sessions]):
            return
        await asyncio.sleep(0.2)


async def test_a_burst_behind_a_busy_service_is_answered_right(busy_finance: Busy) -> None:
    client = busy_finance.client
    started = datetime.now(UTC)
    sessions = [f"busy-{uuid.uuid4().hex[:8]}" for _ in range(BURST)]
    asking = asyncio.gather(*(_ask(client, s) for s in sessions))
    # Slow until a call has waited longer than a start may; then the queue drains.
    await _until_a_call_timed_out(client, sessions, asking)
    busy_finance.quick.set()
    answers = await asking
    wrong = [a for a in answers if "TSLA" not in a or "unavailable" in a.lower()]
    assert not wrong, f"{len(wrong)} of {BURST} wrong, e.g. {wrong[0]!r}"
    assert {await _finance_circuit(client, s) for s in sessions} == {"closed"}
    # The burst did wait longer than a call may: the patient path is what answered.
    timeouts = sum([await _timeouts(client, s) for s in sessions])
    assert timeouts > 0
    # Every tool ran; only a start taken up in the last second of its wait (this
    # worker's slow start) may have run its tool a second time.
    runs = await _tool_runs(client, started)
    while runs < BURST:  # visibility may lag the runs by a moment
        await asyncio.sleep(0.2)
        runs = await _tool_runs(client, started)
    assert runs <= BURST + timeouts


async def test_a_stopped_service_is_still_an_outage(busy_finance: Busy) -> None:
    session = f"stopped-{uuid.uuid4().hex[:8]}"
    assert "TSLA" in await _ask(busy_finance.client, session)
    await busy_finance.finance.shutdown()
    # Told as no worker picking the call up (after the start's wait), not after a
    # patient second call's whole timeout.
    answer = await _ask(busy_finance.client, session)
    assert "finance service is unavailable: no finance worker picked the call up" in answer
    assert await _finance_circuit(busy_finance.client, session) == "open"


def test_a_busy_worker_is_told_from_a_gone_one_well_within_the_first_wait() -> None:
    """A request for a task older than `RECENT` does not count as busy: one made when a
    frozen worker's pending request was handed the call is that old by the call's
    timeout only if the first wait is well above it."""
    assert min(NEXUS_START_TIMEOUT, LIST_TOOLS_TIMEOUT) >= busy.RECENT * 2
