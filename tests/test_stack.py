"""The whole stack through the real CLI: up, status, crash and restart, down, persistence."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import uuid
from datetime import timedelta

import psutil
import pytest
from temporalio.client import Client

from durable_agents_cli.stack.probes import worker_is_polling
from durable_agents_cli.stack.processes import port_is_free
from services import health, topology
from tests.helpers import Stack, eventually, free_port

pytestmark = pytest.mark.stack

STATES = {"starting", "running", "restarting", "crashed", "suspended", "stopped"}


def ping(stack: Stack, worker: str, workflow_id: str | None = None) -> health.PingResult:
    placement = topology.WORKERS[worker]

    async def go() -> health.PingResult:
        client = await stack.client(placement.namespace)
        return await client.execute_workflow(
            health.PingWorkflow.run,
            health.PingInput(),
            id=workflow_id or f"ping-{uuid.uuid4()}",
            task_queue=placement.task_queue,
            execution_timeout=timedelta(seconds=30),
        )

    return asyncio.run(go())


def test_up_status_restart_down_and_persistence(stack: Stack) -> None:
    up = stack.run("up", check=True)
    assert "dagent is up" in up.stdout
    assert f"http://127.0.0.1:{stack.ui_port}" in up.stdout
    # The stack's identity issuer: its signing key, private to its owner.
    auth = stack.home / "auth"
    assert stat.S_IMODE(auth.stat().st_mode) == 0o700
    assert stat.S_IMODE((auth / "signing-key.pem").stat().st_mode) == 0o600

    status = stack.status()
    assert status["pattern"] == "nexus"
    assert status["temporal"] == {
        "address": f"127.0.0.1:{stack.temporal_port}",
        "reachable": True,
        "ui": f"http://127.0.0.1:{stack.ui_port}",
    }
    assert [c["name"] for c in status["components"]] == ["temporal", "web", "orchestrator", "it", "finance"]
    for component in status["components"]:
        assert {"name", "pid", "state", "restarts", "address"} <= component.keys()
        assert component["state"] == "running"
        assert component["restarts"] == 0
        assert psutil.pid_exists(component["pid"])
    pids = {c["name"]: c["pid"] for c in status["components"]}
    # Once LiteLLM is loaded, the orchestrator says so (the chat stops saying "loading").
    warm = stack.home / "run" / "orchestrator.warm"
    eventually(lambda: warm.exists() and warm.read_text() == str(pids["orchestrator"]), timeout=60)

    # Each worker really serves its own queue in its own namespace.
    for worker in topology.WORKERS:
        assert ping(stack, worker).pid == pids[worker]
    remembered = f"ping-before-restart-{uuid.uuid4()}"
    ping(stack, "finance", remembered)

    # A second `up` with the same pattern changes nothing.
    again = stack.run("up", check=True)
    assert "already up" in again.stdout
    assert {c["name"]: c["pid"] for c in stack.status()["components"]} == pids

    assert stack.run("status").returncode == 0
    assert stack.status()["healthy"]

    # SIGSTOP a worker: alive, but it answers nothing; status says so and exits 3.
    os.kill(pids["finance"], signal.SIGSTOP)
    try:
        stopped = stack.run("status")
        assert stopped.returncode == 3
        assert "suspended" in stopped.stdout
        assert stack.component("finance")["state"] == "suspended"
        assert not stack.status()["healthy"]
    finally:
        os.kill(pids["finance"], signal.SIGCONT)
    assert stack.status()["healthy"]

    # SIGKILL a worker: the supervisor restarts it and it polls again; meanwhile
    # status says how it ended, and when, rather than a countdown gone stale.
    os.kill(pids["it"], signal.SIGKILL)
    it = eventually(lambda: (c := stack.component("it"))["restarts"] == 1 and c["state"] == "running" and c)
    assert it["pid"] != pids["it"]
    assert ping(stack, "it").pid == it["pid"]
    supervisor_log = (stack.home / "logs" / "supervisor.log").read_text()
    assert "it killed by SIGKILL; restarting in" in supervisor_log

    # Each component logs to its own file.
    it_log = stack.run("logs", "it", "--lines", "5", check=True).stdout
    assert "worker it polling it-namespace/it-task-queue" in it_log
    assert "--- dagent: starting it" in it_log  # the restart is in the log too
    everything = stack.run("logs", check=True).stdout
    for name in ("supervisor", "temporal", "orchestrator", "finance"):
        assert name in everything

    # `down` stops everything and frees the ports.
    down = stack.run("down", check=True)
    assert "stopped" in down.stdout
    assert stack.processes() == []
    for pid in pids.values():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert eventually(lambda: port_is_free(stack.temporal_port) and port_is_free(stack.ui_port))
    assert stack.status()["components"] == []

    # Up again: namespaces, endpoints and earlier workflows are still in the SQLite file.
    stack.run("up", check=True)

    async def history_survived() -> str:
        client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", namespace="finance-namespace")
        description = await client.get_workflow_handle(remembered).describe()
        return description.status.name if description.status else ""

    assert asyncio.run(history_survived()) == "COMPLETED"
    assert ping(stack, "it").component == "it"


def test_temporal_crash_is_survived(stack: Stack) -> None:
    stack.run("up", check=True)
    server = stack.component("temporal")
    os.kill(server["pid"], signal.SIGKILL)
    eventually(lambda: (c := stack.component("temporal"))["restarts"] == 1 and c["state"] == "running")
    # Workers keep their processes and reconnect to the restarted server.
    assert ping(stack, "orchestrator").component == "orchestrator"


def test_port_in_use_fails_fast_naming_the_port(stack: Stack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.temporal_port))
        squatter.listen()
        result = stack.run("up")
    assert result.returncode == 1
    assert str(stack.temporal_port) in result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert stack.processes() == []


def test_failed_start_shows_the_log_and_leaves_nothing(stack: Stack) -> None:
    # Where the dev server wants its database file there is a directory.
    (stack.home / "data" / "temporal.db").mkdir(parents=True)
    # An earlier run's noise in the same log is not this run's story.
    (stack.home / "logs").mkdir(parents=True)
    (stack.home / "logs" / "temporal.log").write_text(
        "--- dagent: starting temporal at 2026-01-01 00:00:00\nWARN an old warning from a day ago\n"
    )
    result = stack.run("up")
    assert result.returncode == 1, result.stdout
    assert "dagent did not start (temporal)" in result.stderr
    assert "last lines of temporal's log" in result.stderr
    assert "an old warning from a day ago" not in result.stderr
    assert "cause: " in result.stderr
    assert "Traceback" not in result.stderr
    assert stack.processes() == []
    assert port_is_free(stack.temporal_port)


def test_swap_replaces_only_what_differs(stack: Stack) -> None:
    stack.run("up", check=True)
    before = {c["name"]: c["pid"] for c in stack.status()["components"]}
    # A swap that cannot work is refused before anything running is touched.
    port = str(free_port())
    refused = stack.run("up", "--pattern", "mcp", "--it-mcp-port", port, "--finance-mcp-port", port)
    assert refused.returncode == 1
    assert f"Port {port} is given twice" in refused.stderr
    assert {c["name"]: c["pid"] for c in stack.status()["components"]} == before
    assert stack.status()["healthy"]
    stack.run("up", "--model", "openai/gpt-4o-mini", check=True)
    after = {c["name"]: c for c in stack.status()["components"]}
    assert stack.status()["model"] == "openai/gpt-4o-mini"
    assert all(c["state"] == "running" for c in after.values())
    for kept in ("temporal", "it", "finance"):
        assert after[kept]["pid"] == before[kept]
    assert after["orchestrator"]["pid"] != before["orchestrator"]


def test_swap_to_mcp_and_back(stack: Stack) -> None:
    stack.run("up", check=True)
    before = {c["name"]: c["pid"] for c in stack.status()["components"]}
    stack.run("up", "--pattern", "mcp", check=True)
    after = {c["name"]: c for c in stack.status()["components"]}
    assert set(after) == {"temporal", "web", "orchestrator", "it", "finance", "it-mcp", "finance-mcp"}
    assert all(c["state"] == "running" for c in after.values())
    for kept in ("temporal", "web", "it", "finance"):
        assert after[kept]["pid"] == before[kept]
    assert after["orchestrator"]["pid"] != before["orchestrator"]
    signing_key = (stack.home / "auth" / "signing-key.pem").stat()
    assert signing_key.st_mode & 0o077 == 0  # readable by its owner only
    stack.run("up", "--pattern", "nexus", check=True)
    assert {c["name"] for c in stack.status()["components"]} == {
        "temporal",
        "web",
        "orchestrator",
        "it",
        "finance",
    }
    assert port_is_free(stack.it_mcp_port)
    assert port_is_free(stack.finance_mcp_port)


def test_two_stacks_side_by_side(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = Stack(home=tmp_path_factory.mktemp("second") / "home")
    try:
        stack.run("up", check=True)
        other.run("up", check=True)
        assert stack.status()["up"]
        assert other.status()["up"]
        assert ping(other, "it").pid == other.component("it")["pid"]
        assert ping(stack, "it").pid == stack.component("it")["pid"]
    finally:
        other.run("down")
        assert other.kill_leftovers() == []


def test_external_temporal_is_used_instead_of_the_embedded_one(
    dev_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    external = Stack(
        home=tmp_path_factory.mktemp("external") / "home", extra_env={"TEMPORAL_ADDRESS": dev_server}
    )
    try:
        external.run("up", check=True)
        status = external.status()
        assert status["temporal"]["address"] == dev_server
        assert status["temporal"]["reachable"]
        assert [c["name"] for c in status["components"]] == ["orchestrator", "it", "finance"]
        assert port_is_free(external.temporal_port)
        external.temporal_port = int(dev_server.rsplit(":", 1)[1])
        assert ping(external, "finance").pid == external.component("finance")["pid"]
    finally:
        external.run("down")
        assert external.kill_leftovers() == []


def test_a_session_stays_with_its_pattern(stack: Stack) -> None:
    stack.run("up", check=True)
    first = json.loads(stack.run("ask", "What is 2 + 2?", "--json", check=True).stdout)
    stack.run("up", "--pattern", "agents-nexus", check=True)
    other = stack.run("ask", "What is 3 + 3?", "--session", first["session"])
    assert other.returncode == 1
    assert "began with the 'nexus' pattern" in other.stderr
    fresh = json.loads(stack.run("ask", "What is 3 + 3?", "--json", check=True).stdout)
    assert "**6**" in fresh["answer"]
    stack.run("up", "--pattern", "nexus", check=True)
    again = json.loads(
        stack.run(
            "ask", "what was my first question?", "--session", first["session"], "--json", check=True
        ).stdout
    )
    assert "What is 2 + 2?" in again["answer"]


def test_a_worker_run_by_hand_finds_the_stacks_temporal(stack: Stack) -> None:
    stack.run("up", check=True)
    # No TEMPORAL_ADDRESS, and a port setting that points nowhere: the stack's own
    # state in DAGENT_HOME says where its server is.
    extra = stack.start("worker", "it", env={"DAGENT_TEMPORAL_PORT": str(free_port())})
    try:

        async def polling() -> bool:
            return await worker_is_polling(await stack.client(), "it", extra.pid)

        eventually(lambda: extra.poll() is not None or asyncio.run(polling()), timeout=60)
        assert extra.poll() is None, extra.stderr.read() if extra.stderr else ""
    finally:
        extra.terminate()
        _, stderr = extra.communicate(timeout=30)
    assert extra.returncode == 0, stderr
