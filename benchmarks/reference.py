"""dagent beside the reference demo it grew out of, on the same dev server.

Give it a checkout of the reference (github.com/stenio123/temporal-ai-agent-cross-
namespace-with-nexus); nothing of it is in this repository. The script starts one
dev server with the flags `dagent up` uses (the same binary, the same tuning),
creates the namespaces and Nexus endpoints both expect (they share the names),
and then, in alternating rounds, runs

- the reference's `litellm_temporal` workers, unchanged but for the address and a
  zero-cost scripted model (`benchmarks/reference_worker.py`, in the reference's
  own environment: `uv sync` there first), driven through its `send_message`
  update, one workflow per conversation, as its client does;
- a dagent stack of each chosen pattern against that server (`TEMPORAL_ADDRESS`),
  driven through the conversation API that `dagent ask` uses;

measuring the same spans: a local-tool turn, a remote-tool turn (Finance's
stock price over Nexus), and 100 conversations x 5 turns at once. The baseline of
every ratio is the reference's figure from the same run.

    uv run python benchmarks/reference.py --reference PATH [--rounds 2] [--turns 30]
        [--conversations 100] [--patterns nexus,agents-nexus,mcp]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402

from benchmarks.turns import LOCAL, REMOTE, timed_turns  # noqa: E402
from benchmarks.turns import throughput as dagent_throughput  # noqa: E402
from durable_agents_cli.stack.components import DEV_SERVER_DYNAMIC_CONFIG, temporal_binary  # noqa: E402
from services import bootstrap  # noqa: E402
from tests.helpers import Stack, free_port, front_end_client  # noqa: E402

REFERENCE_QUEUE = "orchestrator-queue"
REFERENCE_WORKFLOW = "DurableAgentWorkflow"
WORKER = str(ROOT / "benchmarks" / "reference_worker.py")


def dev_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless"]
    argv += ["--db-filename", str(directory / "temporal.db"), "--log-level", "warn"]
    for key, value in DEV_SERVER_DYNAMIC_CONFIG.items():
        argv += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    return process, f"127.0.0.1:{port}"


async def connect(address: str) -> Client:
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError:
            await asyncio.sleep(0.1)


async def prepare(address: str) -> None:
    await bootstrap.ensure_topology(await connect(address))


class Reference:
    """The reference's three workers, as processes in its own environment."""

    def __init__(self, checkout: Path, address: str) -> None:
        self.project = checkout / "litellm_temporal"
        self.address = address
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Reference:
        for name in ("it", "finance", "orchestrator"):
            self.processes.append(
                subprocess.Popen(
                    [
                        *("uv", "run", "--project", str(self.project), "python"),
                        str(WORKER),
                        name,
                        self.address,
                    ],
                    cwd=self.project,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        return self

    def __exit__(self, *_: object) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


async def reference_send(client: Client, conversation: str, text: str) -> str:
    handle = client.get_workflow_handle(conversation)
    return str(await handle.execute_update("send_message", text, result_type=str))


async def reference_start(client: Client) -> str:
    conversation = f"ref-{uuid.uuid4().hex[:8]}"
    await client.start_workflow(
        REFERENCE_WORKFLOW, {"initial_prompt": ""}, id=conversation, task_queue=REFERENCE_QUEUE
    )
    return conversation


async def reference_turns(client: Client, question: str, turns: int) -> list[float]:
    conversation = await reference_start(client)
    await reference_send(client, conversation, question)
    samples = []
    for _ in range(turns):
        start = time.perf_counter()
        await reference_send(client, conversation, question)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def reference_throughput(client: Client, conversations: int, turns_each: int) -> float:
    ids = await asyncio.gather(*(reference_start(client) for _ in range(conversations)))
    await asyncio.gather(*(reference_send(client, c, LOCAL) for c in ids))

    async def talk(conversation: str) -> None:
        for n in range(turns_each):
            await reference_send(client, conversation, f"What is {n} * 3?")

    start = time.perf_counter()
    await asyncio.gather(*(talk(c) for c in ids))
    return conversations * turns_each / (time.perf_counter() - start)


async def measure_reference(checkout: Path, address: str, turns: int, conversations: int) -> dict[str, float]:
    client = await connect(address)
    with Reference(checkout, address):
        # Ready when a whole turn (both remote workers included) is answered.
        conversation = await reference_start(client)
        for question in (LOCAL, REMOTE):
            answer = await asyncio.wait_for(reference_send(client, conversation, question), 120)
        assert "TSLA" in answer, f"the reference's workers did not answer right: {answer!r}"
        return {
            "local": statistics.median(await reference_turns(client, LOCAL, turns)),
            "remote": statistics.median(await reference_turns(client, REMOTE, turns)),
            "throughput": await reference_throughput(client, conversations, 5),
        }


async def measure_dagent(stack: Stack, pattern: str, turns: int, conversations: int) -> dict[str, float]:
    # The stack's Temporal is the script's own server, not one on the stack's port.
    client = await front_end_client(stack.extra_env["TEMPORAL_ADDRESS"], stack.home, stack.acting().token)
    return {
        "local": statistics.median(await timed_turns(client, pattern, LOCAL, turns)),
        "remote": statistics.median(await timed_turns(client, pattern, REMOTE, turns)),
        "throughput": await dagent_throughput(client, pattern, conversations, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", type=Path, required=True, help="a checkout of the reference demo")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--patterns", default="nexus,agents-nexus,mcp")
    options = parser.parse_args()
    if not (options.reference / "litellm_temporal" / "orchestrator_worker.py").is_file():
        parser.error(f"{options.reference} is not a checkout of the reference demo (no litellm_temporal/)")
    results: dict[str, list[dict[str, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        server, address = dev_server(Path(tmp))
        try:
            asyncio.run(prepare(address))
            for _ in range(options.rounds):
                figures = measure_reference(options.reference, address, options.turns, options.conversations)
                results["reference"].append(asyncio.run(figures))
                for pattern in options.patterns.split(","):
                    home = Path(tmp) / f"home-{pattern}-{uuid.uuid4().hex[:6]}"
                    stack = Stack(home=home, pattern=pattern, extra_env={"TEMPORAL_ADDRESS": address})
                    with stack.up():
                        results[pattern].append(
                            asyncio.run(measure_dagent(stack, pattern, options.turns, options.conversations))
                        )
        finally:
            server.terminate()
            server.wait()
    print(f"{options.rounds} rounds, {options.turns} turns; {options.conversations} conversations x 5 turns")
    print("| system | local-tool turn p50 | remote-tool turn p50 | concurrent conversations |")
    print("|---|---|---|---|")
    medians = {
        system: {key: statistics.median(r[key] for r in rounds) for key in ("local", "remote", "throughput")}
        for system, rounds in results.items()
    }
    base = medians["reference"]
    for system, value in medians.items():
        print(
            f"| {system} | {value['local']:.0f} ms ({value['local'] / base['local']:.2f}x) "
            f"| {value['remote']:.0f} ms ({value['remote'] / base['remote']:.2f}x) "
            f"| {value['throughput']:.1f} turns/s ({value['throughput'] / base['throughput']:.2f}x) |"
        )


if __name__ == "__main__":
    main()
