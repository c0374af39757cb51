"""Latency of one agent turn, and throughput of many conversations at once.

Runs against a stack this script starts (`dagent up` in a temporary DAGENT_HOME
on free ports) with the offline model, through the conversation API that
`dagent ask` and `dagent chat` use. The baseline, measured in the same run, is
the cheapest Temporal round trip there is: the `dagent.ping` workflow (one
workflow, one activity) executed on the orchestrator's queue.

    uv run python benchmarks/turns.py [--turns 30] [--conversations 100] [--patterns nexus,agents-nexus]
        [--observability off,default,all]

`--observability` runs each pattern once per mode, alternating, to price what seeing a
turn costs: `default` is the set-up with nothing configured (spans to the local store,
each worker's /metrics, text logs); `off` turns tracing and metrics off
(OTEL_SDK_DISABLED=true, DAGENT_METRICS=false); `no-tracing` only tracing
(OTEL_TRACES_EXPORTER=none); `all` is everything on with an exporter
(spans to an OTLP/HTTP receiver in this process, metrics, JSON logs); `otlp` is the
default with that receiver; `no-tracing` and `no-metrics` turn one of the two off.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402

from services import (  # noqa: E402
    conversation,
    health,
    topology,
)
from tests.helpers import Stack  # noqa: E402
from tests.otlp_receiver import otlp_receiver  # noqa: E402

LOCAL = "What is 125 * 8?"
REMOTE = "What's the stock price of TSLA?"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed_turns(client: Client, pattern: str, question: str, turns: int) -> list[float]:
    session = f"bench-{uuid.uuid4().hex[:8]}"
    await conversation.send(client, session, question, pattern=pattern)
    samples = []
    for _ in range(turns):
        start = time.perf_counter()
        await conversation.send(client, session, question, pattern=pattern)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def ping_baseline(client: Client, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await client.execute_workflow(
            health.PingWorkflow.run,
            health.PingInput(),
            id=f"bench-ping-{uuid.uuid4().hex[:8]}",
            task_queue=topology.ORCHESTRATOR_TASK_QUEUE,
        )
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def throughput(client: Client, pattern: str, conversations: int, turns_each: int) -> float:
    sessions = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(conversations)]

    async def talk(session: str) -> None:
        for n in range(turns_each):
            await conversation.send(client, session, f"What is {n} * 3?", pattern=pattern)

    # Warm: every conversation has discovered its tools before the clock starts.
    await asyncio.gather(*(conversation.send(client, s, LOCAL, pattern=pattern) for s in sessions))
    start = time.perf_counter()
    await asyncio.gather(*(talk(s) for s in sessions))
    return conversations * turns_each / (time.perf_counter() - start)


def ask_walls(stack: Stack, runs: int) -> list[float]:
    """Wall time of a whole `dagent ask` process (a new session, a local-tool turn), as a
    script would see it: interpreter start, imports, connection, the turn, exit."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        stack.run("ask", LOCAL, "--json", check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def measure(stack: Stack, label: str, turns: int, conversations: int) -> list[str]:
    pattern = stack.pattern
    client = await stack.front_end()
    await conversation.send(client, "bench-warm-up", LOCAL, pattern=pattern)  # LiteLLM imported
    baseline = await ping_baseline(client, turns)
    local = await timed_turns(client, pattern, LOCAL, turns)
    remote = await timed_turns(client, pattern, REMOTE, turns)
    rate = await throughput(client, pattern, conversations, 5)
    asks = ask_walls(stack, max(5, turns // 3))
    base = statistics.median(baseline)
    rows = []
    for what, values in (("ping workflow (baseline)", baseline), ("local-tool turn", local),
                          ("remote-tool turn", remote), ("`dagent ask` process, wall", asks)):  # fmt: skip
        p50 = statistics.median(values)
        rows.append(
            f"| {label} | {what} | {p50:.0f} ms | {percentile(values, 0.9):.0f} ms | {p50 / base:.1f}x |"
        )
    rows.append(f"| {label} | {conversations} concurrent conversations | {rate:.1f} turns/s | | |")
    return rows


NOTHING_SET = {"OTEL_SDK_DISABLED": None, "OTEL_TRACES_EXPORTER": None, "OTEL_EXPORTER_OTLP_ENDPOINT": None,
               "DAGENT_METRICS": None, "DAGENT_LOG_FORMAT": None}  # fmt: skip
MODES: dict[str, dict[str, str | None]] = {
    "default": {},
    "off": {"OTEL_SDK_DISABLED": "true", "DAGENT_METRICS": "false"},
    # Tracing off, the SDK's metrics kept (OTEL_SDK_DISABLED would drop those too).
    "no-tracing": {"OTEL_TRACES_EXPORTER": "none"},
    "no-metrics": {"DAGENT_METRICS": "false"},
    "otlp": {"OTEL_EXPORTER_OTLP_ENDPOINT": "receiver"},
    "all": {"OTEL_EXPORTER_OTLP_ENDPOINT": "receiver", "DAGENT_LOG_FORMAT": "json"},
}


@contextlib.contextmanager
def observability_env(mode: str) -> Iterator[dict[str, str | None]]:
    """The stack's environment for an observability mode (an OTLP receiver runs meanwhile
    where the mode sends spans to one)."""
    env = {**NOTHING_SET, **MODES[mode]}
    if env["OTEL_EXPORTER_OTLP_ENDPOINT"] is None:
        yield env
        return
    with otlp_receiver() as receiver:
        yield {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--patterns", default="nexus,agents-nexus")
    parser.add_argument("--observability", default="default", help="modes to compare: " + ", ".join(MODES))
    options = parser.parse_args()
    rows: list[str] = []
    modes = options.observability.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}; known: {', '.join(MODES)}")
    for pattern in options.patterns.split(","):
        for mode in modes:
            with (
                tempfile.TemporaryDirectory() as tmp,
                observability_env(mode) as env,
                Stack(home=Path(tmp) / "home", pattern=pattern, extra_env=env).up() as stack,
            ):
                label = pattern if len(modes) == 1 else f"{pattern} ({mode})"
                rows += asyncio.run(measure(stack, label, options.turns, options.conversations))
    print(f"{options.turns} turns each; throughput: {options.conversations} conversations x 5 turns")
    print("| pattern | measure | p50 | p90 | vs ping workflow |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
