"""Latency of one agent turn, and throughput of many conversations at once.

Runs against a stack this script starts (`dagent up` in a temporary DAGENT_HOME
on free ports) with the offline model, through the conversation API that
`dagent ask` and `dagent chat` use. The baseline, measured in the same run, is
the cheapest Temporal round trip there is: the `dagent.ping` workflow (one
workflow, one activity) executed on the orchestrator's queue.

    uv run python benchmarks/turns.py [--turns 30] [--conversations 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import health, temporal, topology  # noqa: E402
from services.orchestrator import client as conversation  # noqa: E402
from tests.helpers import Stack  # noqa: E402

LOCAL = "What is 125 * 8?"
REMOTE = "What's the stock price of TSLA?"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed_turns(client: object, question: str, turns: int) -> list[float]:
    session = f"bench-{uuid.uuid4().hex[:8]}"
    await conversation.send(client, session, question)  # type: ignore[arg-type]
    samples = []
    for _ in range(turns):
        start = time.perf_counter()
        await conversation.send(client, session, question)  # type: ignore[arg-type]
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def ping_baseline(client: object, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await client.execute_workflow(  # type: ignore[attr-defined]
            health.PingWorkflow.run,
            health.PingInput(),
            id=f"bench-ping-{uuid.uuid4().hex[:8]}",
            task_queue=topology.ORCHESTRATOR_TASK_QUEUE,
        )
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def throughput(client: object, conversations: int, turns_each: int) -> float:
    sessions = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(conversations)]

    async def talk(session: str) -> None:
        for n in range(turns_each):
            await conversation.send(client, session, f"What is {n} * 3?")  # type: ignore[arg-type]

    await asyncio.gather(*(conversation.send(client, s, LOCAL) for s in sessions))  # warm: discovery done
    start = time.perf_counter()
    await asyncio.gather(*(talk(s) for s in sessions))
    return conversations * turns_each / (time.perf_counter() - start)


async def measure(stack: Stack, turns: int, conversations: int) -> None:
    client = await temporal.connect(
        topology.ORCHESTRATOR_NAMESPACE, address=f"127.0.0.1:{stack.temporal_port}"
    )
    await asyncio.sleep(5)  # let the orchestrator finish importing LiteLLM
    baseline = await ping_baseline(client, turns)
    local = await timed_turns(client, LOCAL, turns)
    remote = await timed_turns(client, REMOTE, turns)
    rate = await throughput(client, conversations, 5)
    base = statistics.median(baseline)
    print(f"{turns} turns each; throughput: {conversations} conversations x 5 turns")
    print("| measure | p50 | p90 | vs ping workflow |")
    print("|---|---|---|---|")
    for label, values in (
        ("ping workflow (baseline)", baseline),
        ("local-tool turn", local),
        ("remote-tool turn (Nexus)", remote),
    ):
        p50 = statistics.median(values)
        print(f"| {label} | {p50:.0f} ms | {percentile(values, 0.9):.0f} ms | {p50 / base:.1f}x |")
    print(f"| {conversations} concurrent conversations | {rate:.1f} turns/s | | |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--pattern", default="nexus")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(home=Path(tmp) / "home")
        try:
            stack.run("up", "--pattern", options.pattern, check=True)
            asyncio.run(measure(stack, options.turns, options.conversations))
        finally:
            stack.run("down")


if __name__ == "__main__":
    main()
