"""A burst of conversations at once: is every answer right, and what does each
conversation cost the orchestrator in memory?

For each pattern, on a stack this script starts (`dagent up` in a temporary
DAGENT_HOME on free ports, offline model): new conversations in waves (up to
`--burst` at once), each asking a question that needs Finance's `stock_price` (a
remote tool); after each wave the orchestrator's resident memory (RSS) is read,
and the cost of a cached conversation is the growth between the first and the
last wave divided by the conversations in between (so the process's fixed
start-up cost is left out; keep the last wave within the workflow cache,
DAGENT_WORKFLOW_CACHE, or evictions hide the growth). Then one burst of
`--burst` new conversations at once. An answer is right when it carries the
quote and does not say a service was unavailable.

    uv run python benchmarks/load.py [--burst 200] [--waves 100,500] [--patterns nexus,agents-nexus,mcp]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402

from services import conversation  # noqa: E402
from tests.helpers import Stack  # noqa: E402

QUESTION = "What's the stock price of TSLA?"
MB = 1024 * 1024


def right(text: str) -> bool:
    return "TSLA" in text and "$" in text and "unavailable" not in text.lower()


async def burst(client: Client, pattern: str, conversations: int) -> tuple[int, float, list[str]]:
    """`conversations` new sessions at once: how many answered right, in how many
    seconds, and the first few wrong answers."""

    async def talk() -> str:
        reply = await conversation.send(client, f"load-{uuid.uuid4().hex[:10]}", QUESTION, pattern=pattern)
        return reply.text

    start = time.perf_counter()
    answers = await asyncio.gather(*(talk() for _ in range(conversations)), return_exceptions=True)
    elapsed = time.perf_counter() - start
    texts = [a if isinstance(a, str) else f"{type(a).__name__}: {a}" for a in answers]
    wrong = [t for t in texts if not right(t)]
    return conversations - len(wrong), elapsed, wrong[:3]


async def measure(stack: Stack, pattern: str, burst_size: int, waves: list[int]) -> list[str]:
    client = await stack.front_end()
    orchestrator = psutil.Process(stack.component("orchestrator")["pid"])
    await conversation.send(client, "load-warm-up", QUESTION, pattern=pattern)  # LiteLLM imported
    rows = []
    started, right_answers, wrong = 1, 0, []
    memory: list[tuple[int, float]] = []
    # Memory first, in waves of new conversations (each answer checked too)...
    for total in waves:
        while started < total:
            size = min(burst_size, total - started)
            ok, _, bad = await burst(client, pattern, size)
            started, right_answers, wrong = started + size, right_answers + ok, wrong + bad
        rss = orchestrator.memory_info().rss / MB
        memory.append((started, rss))
        rows.append(f"| {pattern} | orchestrator RSS after {started} conversations | {rss:.0f} MB | |")
    (first, low), (last, high) = memory[0], memory[-1]
    if last > first:
        per = (high - low) / (last - first)
        rows.append(f"| {pattern} | RSS per cached conversation ({first}->{last}) | {per:.2f} MB | |")
    rows.append(f"| {pattern} | answers right in those waves | {right_answers}/{started - 1} | |")
    # ...then one burst, all at once.
    ok, elapsed, bad = await burst(client, pattern, burst_size)
    rows.append(
        f"| {pattern} | burst of {burst_size} new conversations | {ok}/{burst_size} right "
        f"| {burst_size / elapsed:.1f} turns/s |"
    )
    rows += [f"| {pattern} | wrong answer | {w[:150]!r} | |" for w in (wrong + bad)[:3]]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--waves", default="100,500")
    parser.add_argument("--patterns", default="nexus,agents-nexus,mcp")
    options = parser.parse_args()
    waves = [int(w) for w in options.waves.split(",")]
    rows: list[str] = []
    for pattern in options.patterns.split(","):
        with (
            tempfile.TemporaryDirectory() as tmp,
            Stack(home=Path(tmp) / "home", pattern=pattern).up() as stack,
        ):
            rows += asyncio.run(measure(stack, pattern, options.burst, waves))
    print(f"question: {QUESTION!r}; memory after waves of up to {options.burst} new conversations")
    print("| pattern | measure | value | rate |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
