"""What payload encryption costs a turn: remote-tool turn p50 with the codec encrypting
(the default) and with `--no-encrypt`, in the same run, on the same dev server, rounds
alternating. Both are product settings: the workers and the client are built with
`encrypt` on or off, as `dagent up` would build them.

    uv run python benchmarks/encryption.py [--rounds 4] [--turns 30] [--pattern nexus]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402

from benchmarks.identity import dev_server, on_and_off, workers  # noqa: E402
from benchmarks.turns import REMOTE, timed_turns  # noqa: E402
from services import bootstrap, temporal, topology  # noqa: E402
from services.identity.acting import Acting  # noqa: E402
from services.identity.headers import ClientIdentity  # noqa: E402
from services.identity.keys import ensure_local_keys  # noqa: E402
from services.payloads import keyring  # noqa: E402
from services.settings import DagentSettings  # noqa: E402


async def measure(rounds: int, turns: int, pattern: str) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp, dev_server(Path(tmp)) as address:
        home = Path(tmp) / "home"
        ensure_local_keys(home)
        keyring.ensure(home)  # what `dagent up` makes
        samples: dict[str, list[float]] = {"on": [], "off": []}
        encodings: dict[str, set[bytes]] = {"on": set(), "off": set()}
        for round_number in range(rounds):
            for mode in ("on", "off") if round_number % 2 == 0 else ("off", "on"):
                settings = DagentSettings(home=home, pattern=pattern, encrypt=mode == "on")
                client = await connect(address, settings)
                await bootstrap.ensure_topology(client)
                async with workers(address, settings):
                    samples[mode] += await timed_turns(client, pattern, REMOTE, turns)
                    encodings[mode] |= await reply_encodings(client)
        # Proof that each mode was what it says: how the replies were stored.
        print(f"stored reply encodings: on {sorted(encodings['on'])}, off {sorted(encodings['off'])}")
        return samples


async def connect(address: str, settings: DagentSettings) -> Client:
    for _ in range(300):  # until the server answers
        try:
            return await temporal.connect(
                topology.ORCHESTRATOR_NAMESPACE,
                address=address,
                interceptors=[ClientIdentity(Acting(settings).token)],
                data_converter=temporal.sealed_converter(settings.home, settings.encrypt),
            )
        except Exception:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"no Temporal at {address}")


async def reply_encodings(client: Client) -> set[bytes]:
    """The encodings of the last conversation's update results, as the server keeps them."""
    found: set[bytes] = set()
    async for execution in client.list_workflows("WorkflowId STARTS_WITH 'dagent-chat-bench-'", limit=1):
        async for event in client.get_workflow_handle(execution.id).fetch_history_events():
            if event.HasField("workflow_execution_update_completed_event_attributes"):
                outcome = event.workflow_execution_update_completed_event_attributes.outcome
                found |= {p.metadata.get("encoding", b"") for p in outcome.success.payloads}
    return found


if __name__ == "__main__":
    on_and_off(measure, "payloads", "plain (--no-encrypt)", "encrypted")
