"""What a user waits for when a tool service is down: the circuit breaker at work.

For each pattern, on a stack this script starts, several rounds of: a healthy
remote-tool turn (the baseline, same run), then the Finance service made silent
(SIGSTOP on its worker, or its MCP server in the `mcp` pattern), the first turn
that needs it (the circuit opens), a later one (refused at once), a local-tool
turn meanwhile; then Finance resumed. Each round uses a new session, so each
opens its own circuit. Times are the conversation API's, medians over rounds.

    uv run python benchmarks/outage.py [--rounds 5] [--patterns nexus,agents-nexus,mcp]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402

from services import (  # noqa: E402
    conversation,
)
from tests.helpers import Stack  # noqa: E402

REMOTE = "What's the stock price of TSLA?"
LOCAL = "What is 125 * 8?"
STEPS = ("healthy remote-tool turn (baseline)", "first turn, Finance silent", "next turn, circuit open",
         "local-tool turn, Finance silent")  # fmt: skip


async def timed(client: Client, pattern: str, session: str, question: str) -> tuple[float, str]:
    start = time.perf_counter()
    reply = await conversation.send(client, session, question, pattern=pattern)
    return (time.perf_counter() - start) * 1000, reply.text


async def one_round(client: Client, pattern: str, finance_pid: int) -> list[float]:
    session = f"outage-{uuid.uuid4().hex[:8]}"
    healthy, _ = await timed(client, pattern, session, REMOTE)
    os.kill(finance_pid, signal.SIGSTOP)
    try:
        first, text = await timed(client, pattern, session, REMOTE)
        assert "unavailable" in text, text
        second, text = await timed(client, pattern, session, REMOTE)
        assert "unavailable" in text, text
        local, _ = await timed(client, pattern, session, LOCAL)
    finally:
        os.kill(finance_pid, signal.SIGCONT)
    return [healthy, first, second, local]


async def measure(stack: Stack, pattern: str, rounds: int) -> list[str]:
    client = await stack.front_end()
    await conversation.send(client, "outage-warm-up", REMOTE, pattern=pattern)  # LiteLLM imported
    finance = stack.component("finance-mcp" if pattern == "mcp" else "finance")["pid"]
    samples = [await one_round(client, pattern, finance) for _ in range(rounds)]
    base = statistics.median(s[0] for s in samples)
    rows = []
    for n, label in enumerate(STEPS):
        values = [s[n] for s in samples]
        median = statistics.median(values)
        rows.append(
            f"| {pattern} | {label} | {median:.0f} ms | {min(values):.0f}-{max(values):.0f} ms "
            f"| {median / base:.1f}x |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--patterns", default="nexus,agents-nexus,mcp")
    options = parser.parse_args()
    rows: list[str] = []
    for pattern in options.patterns.split(","):
        with (
            tempfile.TemporaryDirectory() as tmp,
            Stack(home=Path(tmp) / "home", pattern=pattern).up() as stack,
        ):
            rows += asyncio.run(measure(stack, pattern, options.rounds))
    print(f"{options.rounds} rounds, a new session each")
    print("| pattern | turn | median | range | vs healthy turn |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
