"""Record real workflow histories into tests/histories/, for the replay test.

Starts a real stack per pattern (the CLI, as a user would), holds a scripted
conversation that exercises every path of the conversation workflows (a local
and a remote tool call, several at once, a follow-up, continue-as-new, tool
errors, a service going silent so its circuit opens, then closes again), and
saves every run of it, plus the tool catalog, a team's tool workflow and the
ping, as JSON histories.

    uv run python -m tests.record_histories [--patterns nexus,agents-nexus,mcp] [--tag NAME]

Record with the code as it is *before* a change to workflow code; the replay
test then proves the changed code still replays what running workflows hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from temporalio.client import Client

from services import conversation, health, topology
from services.conversation import workflow_id
from services.payloads import keyring
from tests.helpers import Stack

HISTORIES = Path(__file__).parent / "histories"
# Beside a pattern's histories: the payload keys of the stack that recorded them (not
# `*.json`: only histories are).
RECORDED_KEYS = "payload-keys.ring"
# A short run, so the scripted conversation continues as new midway.
TURNS_PER_RUN = 3
# The circuit's first cool-down (circuits.FIRST_COOL_DOWN) and a margin.
COOL_DOWN_SECONDS = 11

SCRIPT_BEFORE_OUTAGE = (
    "What is 125 * 8?",  # local tool
    "What's the stock price of TSLA?",  # remote tool
    "and for AAPL?",  # follow-up from memory; the run continues as new after it
    "What did I ask first?",  # memory across continue-as-new
    "TSLA price and my IP",  # two services at once
    "What is 1/0?",  # a local tool refuses its input
    "Calculate ROI for $10,000 at 5000% over 10 years",  # a team refuses its input
)
REMOTE = "What's the stock price of TSLA?"


async def converse(stack: Stack, session: str) -> list[str]:
    client = await stack.client()
    texts = []

    async def say(text: str) -> None:
        reply = await conversation.send(
            client, session, text, pattern=stack.pattern, turns_per_run=TURNS_PER_RUN
        )
        texts.append(f"{text} -> {reply.text[:100]!r}")

    for text in SCRIPT_BEFORE_OUTAGE:
        await say(text)
    silent = stack.component("finance-mcp" if stack.pattern == "mcp" else "finance")["pid"]
    os.kill(silent, signal.SIGSTOP)
    try:
        await say(REMOTE)  # the circuit opens
        await say(REMOTE)  # refused at once
    finally:
        os.kill(silent, signal.SIGCONT)
    await asyncio.sleep(COOL_DOWN_SECONDS)
    await say(REMOTE)  # the half-open probe succeeds: closed again
    return texts


async def save_runs(client: Client, workflow: str, folder: Path, name: str) -> list[Path]:
    """Every run of `workflow`, oldest first, as `name-<n>.json`."""
    runs = [execution.run_id async for execution in client.list_workflows(f"WorkflowId = '{workflow}'")]
    saved = []
    for number, run_id in enumerate(reversed(runs), start=1):
        history = await client.get_workflow_handle(workflow, run_id=run_id).fetch_history()
        path = folder / f"{name}-{number}.json"
        path.write_text(json.dumps(history.to_json_dict(), indent=1) + "\n")
        saved.append(path)
    return saved


async def first_of_type(client: Client, workflow_type: str) -> str:
    async for execution in client.list_workflows(f"WorkflowType = '{workflow_type}'"):
        return execution.id
    raise AssertionError(f"no {workflow_type} workflow found")


async def record(stack: Stack, tag: str) -> list[Path]:
    folder = HISTORIES / tag / stack.pattern
    folder.mkdir(parents=True, exist_ok=True)
    session = f"record-{int(time.time())}"
    for line in await converse(stack, session):
        print(f"  {line}")
    stack.run("tools", "list", check=True)
    client = await stack.client()
    await client.execute_workflow(
        health.PingWorkflow.run,
        health.PingInput(note="record"),
        id=f"record-ping-{session}",
        task_queue=topology.ORCHESTRATOR_TASK_QUEUE,
    )
    saved = await save_runs(client, workflow_id(session), folder, "conversation")
    saved += await save_runs(client, await first_of_type(client, "dagent.ToolCatalog"), folder, "catalog")
    saved += await save_runs(client, f"record-ping-{session}", folder, "ping")
    team = await stack.client(topology.FINANCE.namespace)
    saved += await save_runs(team, await first_of_type(team, "dagent.ToolWorkflow"), folder, "tool")
    # The payloads are sealed: the replay needs this throwaway stack's keys.
    shutil.copyfile(keyring.keys_file(stack.home), folder / RECORDED_KEYS)
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", default=",".join(topology.PATTERNS))
    parser.add_argument("--tag", default="v0.1.0", help="Folder under tests/histories/: the code's version.")
    options = parser.parse_args()
    for pattern in options.patterns.split(","):
        print(f"{pattern}:")
        with (
            tempfile.TemporaryDirectory() as tmp,
            Stack(home=Path(tmp) / "home", pattern=pattern).up() as stack,
        ):
            for path in asyncio.run(record(stack, options.tag)):
                print(f"  saved {path.relative_to(HISTORIES)}")


if __name__ == "__main__":
    main()
