"""What identity costs a turn: remote-tool turn p50 with identity on (the product) and
off, in the same run, on the same dev server, rounds alternating.

"Off" exists only here: this script stubs out the three things identity adds to a
turn (the conversation's token check, the per-call `dagent.delegate` local
activity, and the service's decision with its audit line) in its own process; the
product has no switch to turn identity off.

    uv run python benchmarks/identity.py [--rounds 4] [--turns 30] [--pattern nexus]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from benchmarks.turns import REMOTE, timed_turns  # noqa: E402
from durable_agents_cli.stack.components import DEV_SERVER_DYNAMIC_CONFIG, temporal_binary  # noqa: E402
from services import bootstrap, temporal, topology  # noqa: E402
from services.identity import audit, interceptors  # noqa: E402
from services.identity.acting import Acting  # noqa: E402
from services.identity.headers import ClientIdentity  # noqa: E402
from services.identity.keys import ensure_local_keys  # noqa: E402
from services.orchestrator import tool_calls  # noqa: E402
from services.payloads import keyring  # noqa: E402
from services.settings import DagentSettings  # noqa: E402
from services.toolservice import access  # noqa: E402
from services.worker import connect_worker_client, run_worker  # noqa: E402
from tests.helpers import free_port  # noqa: E402


@contextlib.contextmanager
def dev_server(directory: Path) -> Iterator[str]:
    port = free_port()
    argv = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless"]
    argv += ["--db-filename", str(directory / "temporal.db"), "--log-level", "error"]
    for key, value in DEV_SERVER_DYNAMIC_CONFIG.items():
        argv += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def identity_off() -> Iterator[None]:
    """The three parts of a turn identity adds, stubbed out for the "off" rounds."""

    async def no_delegation(self: Any, route: Any, request: Any) -> str:
        return ""

    saved = (
        interceptors.WorkerIdentity.workflow_interceptor_class,
        tool_calls.ToolCaller._delegate,
        access.decide,
    )
    interceptors.WorkerIdentity.workflow_interceptor_class = lambda self, input: None  # type: ignore[method-assign,assignment,misc]
    tool_calls.ToolCaller._delegate = no_delegation  # type: ignore[method-assign]
    access.decide = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        (
            interceptors.WorkerIdentity.workflow_interceptor_class,  # type: ignore[method-assign]
            tool_calls.ToolCaller._delegate,  # type: ignore[method-assign]
            access.decide,
        ) = saved


@contextlib.asynccontextmanager
async def workers(address: str, settings: DagentSettings) -> AsyncIterator[None]:
    tasks = []
    for name in topology.WORKERS:
        client = await connect_worker_client(name, settings, address=address)
        tasks.append(asyncio.create_task(run_worker(name, settings, client=client)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def measure(rounds: int, turns: int, pattern: str) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp, dev_server(Path(tmp)) as address:
        home = Path(tmp) / "home"
        ensure_local_keys(home)
        keyring.ensure(home)  # what `dagent up` makes
        settings = DagentSettings(home=home, pattern=pattern)
        for _ in range(300):  # until the server answers
            try:
                client = await temporal.connect(
                    topology.ORCHESTRATOR_NAMESPACE,
                    address=address,
                    interceptors=[ClientIdentity(Acting(settings).token)],
                    data_converter=temporal.sealed_converter(home, settings.encrypt),
                )
                break
            except Exception:
                await asyncio.sleep(0.1)
        await bootstrap.ensure_topology(client)
        samples: dict[str, list[float]] = {"on": [], "off": []}
        decisions = {"on": 0, "off": 0}
        for round_number in range(rounds):
            # Which goes first alternates too: neither gets all the warm-ups.
            for mode in ("on", "off") if round_number % 2 == 0 else ("off", "on"):
                before = len(list(audit.read(home, ["finance"])))
                with identity_off() if mode == "off" else contextlib.nullcontext():
                    async with workers(address, settings):
                        samples[mode] += await timed_turns(client, pattern, REMOTE, turns)
                decisions[mode] += len(list(audit.read(home, ["finance"]))) - before
        # Proof that "off" was off: Finance decided (and recorded) nothing then.
        print(f"Finance's access decisions: on {decisions['on']}, off {decisions['off']}")
        return samples


def on_and_off(
    measure: Callable[[int, int, str], Awaitable[dict[str, list[float]]]],
    what: str,
    off_label: str,
    on_label: str,
) -> None:
    """Run `measure` (rounds, turns, pattern -> samples "on" and "off") from the command
    line, and print the two medians as a table, "off" the baseline."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--pattern", default="nexus", choices=["nexus", "agents-nexus"])
    options = parser.parse_args()
    samples = asyncio.run(measure(options.rounds, options.turns, options.pattern))
    on, off = statistics.median(samples["on"]), statistics.median(samples["off"])
    print(f"{options.pattern}: {options.rounds} rounds x {options.turns} remote-tool turns, alternating")
    print(f"| {what} | remote-tool turn p50 | vs off |")
    print("|---|---|---|")
    print(f"| {off_label} | {off:.1f} ms | 1.00x |")
    print(f"| {on_label} | {on:.1f} ms | {on / off:.2f}x ({on - off:+.1f} ms) |")


if __name__ == "__main__":
    on_and_off(measure, "identity", "off", "on")
