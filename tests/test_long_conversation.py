"""A 300-turn conversation through `dagent ask --session`, on the offline model.

It continues as new along the way (every 100 turns by default), every run's
history stays well under Temporal's warning limits, the memory still knows the
first question at the end, and the last turns are as quick as the early ones.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.conversation import workflow_id
from tests.helpers import Stack, dagent_argv

pytestmark = [pytest.mark.stack, pytest.mark.long]

TURNS = 300
# Temporal warns at 10,240 events or 10 MB of history per run.
EVENT_WARNING = 10_240
SIZE_WARNING = 10 * 1024 * 1024
QUESTIONS = [
    "What is {n} * 7?",
    "What's the weather like in Paris?",
    "What's the stock price of TSLA?",
    "Calculate ROI for ${n}000 at 5% over 10 years",
]
# `dagent ask` processes at a time: each turn still runs alone in the workflow (one at
# a time, in order of arrival), but process start-up overlaps.
PARALLEL = 3


@pytest.fixture(scope="module")
def long_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(home=tmp_path_factory.mktemp("long") / "home").up() as stack:
        yield stack


def ask(stack: Stack, session: str, question: str) -> dict[str, Any]:
    result = subprocess.run(
        dagent_argv("ask", question, "--json", "--session", session),
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


async def runs_of(stack: Stack, session: str) -> list[tuple[int, int]]:
    """(events, bytes) of every run of the session's workflow."""
    client = await stack.client()
    sizes = []
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id(session)}'"):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        sizes.append((len(history.events), sum(event.ByteSize() for event in history.events)))
    return sizes


def test_three_hundred_turns_in_one_session(long_stack: Stack) -> None:
    session = uuid.uuid4().hex[:12]
    first = ask(long_stack, session, "What is 125 * 8?")
    assert "1000" in first["answer"]
    questions = [QUESTIONS[n % len(QUESTIONS)].format(n=n) for n in range(1, TURNS - 1)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda q: ask(long_stack, session, q), questions))
    assert all(call["ok"] for answer in answers for call in answer["tool_calls"])
    last = ask(long_stack, session, "what was my first question?")
    assert "What is 125 * 8?" in last["answer"]

    runs = asyncio.run(runs_of(long_stack, session))
    assert len(runs) >= TURNS // 100  # it continued as new along the way
    for events, size in runs:
        assert events < EVENT_WARNING / 4
        # A fifth of the warning: a run of 100 turns held 0.4-0.6 MB before each call
        # carried the turn's trace context and each reply its usage, 1.09 MB since.
        assert size < SIZE_WARNING / 5

    # Time inside the workflow, queueing excluded: the end as quick as the start.
    turns = sorted([first, *answers, last], key=lambda a: a["timings"]["started_at"])
    assert len(turns) == TURNS
    early = statistics.median(t["timings"]["workflow_ms"] for t in turns[10:40])
    late = statistics.median(t["timings"]["workflow_ms"] for t in turns[-30:])
    print(
        f"\nruns (events, bytes): {runs}; turn latency in the workflow: "
        f"turns 11-40 p50 {early:.0f} ms, last 30 p50 {late:.0f} ms"
    )
    assert late <= 1.5 * early
