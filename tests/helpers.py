"""Shared test helpers: free ports, waiting for a condition, running the real CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from durable_agents_cli.stack.processes import port_is_free
from services import temporal, topology
from services.conversation import workflow_id
from services.identity.acting import Acting
from services.identity.headers import ClientIdentity
from services.settings import DagentSettings

# (service, tool, transport) of every tool, as the Nexus patterns discover them.
NEXUS_TOOLS = {
    ("orchestrator", "calculator", "local"),
    ("orchestrator", "weather", "local"),
    ("it", "get_ip", "nexus"),
    ("it", "jira_metrics", "nexus"),
    ("finance", "stock_price", "nexus"),
    ("finance", "calculate_roi", "nexus"),
}


async def front_end_client(
    address: str, home: Path, token: Callable[[], str], encrypt: bool = True
) -> Client:
    """A client on the orchestrator's namespace as `dagent ask` and `chat` have one: it acts
    with `token` and speaks the stack's encrypted payloads."""
    return await temporal.connect(
        topology.ORCHESTRATOR_NAMESPACE,
        address=address,
        interceptors=[ClientIdentity(token)],
        data_converter=temporal.sealed_converter(home, encrypt),
    )


async def stop_tasks(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel the in-process workers and servers a fixture started, and wait for them."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def tool_endpoints(client: Client, session: str) -> set[str]:
    """The Nexus endpoints a conversation's history shows `execute_tool` operations on."""
    found = set()
    async for event in client.get_workflow_handle(workflow_id(session)).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED:
            attributes = event.nexus_operation_scheduled_event_attributes
            if attributes.operation == "execute_tool":
                found.add(attributes.endpoint)
    return found


def free_port() -> int:
    """A port nothing listens on, and that none of our other free_port() calls returned.

    Chosen below the kernel's ephemeral range: a port from that range (what binding
    port 0 gives) can be taken by any outgoing connection before a stack binds it,
    which a busy machine makes likely."""
    while True:
        port = _random.randrange(PORTS_FROM, _ephemeral_start())
        if port not in _handed_out and port_is_free(port):
            _handed_out.add(port)
            return port


PORTS_FROM = 20_000
_handed_out: set[int] = set()
_random = random.Random()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def eventually(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Return check()'s first truthy value, failing with its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")


def dagent_argv(*args: str) -> list[str]:
    """The real CLI, as a user runs it, in this interpreter's environment."""
    return [sys.executable, "-m", "durable_agents_cli", *args]


@dataclass
class Stack:
    """A dagent stack under a temporary DAGENT_HOME, driven through the real CLI."""

    home: Path
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    it_mcp_port: int = field(default_factory=free_port)
    finance_mcp_port: int = field(default_factory=free_port)
    # Added to the stack's environment; None removes a variable.
    extra_env: dict[str, str | None] = field(default_factory=dict)
    pattern: str = "nexus"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGENT_", "TEMPORAL_"))}
        env.update(
            DAGENT_HOME=str(self.home),
            DAGENT_TEMPORAL_PORT=str(self.temporal_port),
            DAGENT_UI_PORT=str(self.ui_port),
            DAGENT_IT_MCP_PORT=str(self.it_mcp_port),
            DAGENT_FINANCE_MCP_PORT=str(self.finance_mcp_port),
            # No user temporal.toml may point the tests elsewhere.
            TEMPORAL_CONFIG_FILE=str(self.home / "no-temporal.toml"),
            COLUMNS="200",
        )
        env.update({k: v for k, v in self.extra_env.items() if v is not None})
        return {k: v for k, v in env.items() if self.extra_env.get(k, "") is not None}

    def run(
        self, *args: str, timeout: float = 180.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            dagent_argv(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"dagent {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """`dagent ARGS` in the background (text pipes), in this stack's environment
        with `env` on top; the caller waits for it or ends it."""
        return subprocess.Popen(
            dagent_argv(*args),
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @contextlib.contextmanager
    def up(self) -> Iterator[Stack]:
        """`dagent up` with this stack's pattern; on leaving, whatever happened,
        `dagent down`, failing if any process of the stack outlives it."""
        try:
            self.run("up", "--pattern", self.pattern, check=True)
            yield self
        finally:
            self.run("down")
            assert self.kill_leftovers() == []

    async def client(self, namespace: str = "default") -> Client:
        """A client of this stack's Temporal, speaking the workflows' pydantic payloads,
        acting as the login user (as `dagent ask` does) once the stack has its keys."""
        acting: Acting | None = None

        def token() -> str:
            nonlocal acting
            acting = acting or self.acting()
            return acting.token()

        return await Client.connect(
            f"127.0.0.1:{self.temporal_port}",
            namespace=namespace,
            data_converter=temporal.sealed_converter(self.home, True, pydantic_data_converter),
            interceptors=[ClientIdentity(token)],
        )

    async def front_end(self) -> Client:
        """A client of this stack as `dagent ask` has one (keys made by `dagent up`)."""
        return await front_end_client(f"127.0.0.1:{self.temporal_port}", self.home, self.acting().token)

    def acting(self) -> Acting:
        """Who this stack's front ends act as by default (keys made by `dagent up`)."""
        return Acting(DagentSettings(home=self.home))

    def status(self) -> dict[str, Any]:
        result = self.run("status", "--json")
        # 0: healthy; 3: not running, or something in it is not running.
        assert result.returncode in (0, 3), result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def component(self, name: str) -> dict[str, Any]:
        return next(c for c in self.status()["components"] if c["name"] == name)

    def processes(self) -> list[psutil.Process]:
        """Every live process whose environment says it belongs to this stack."""
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("DAGENT_HOME") == str(self.home) and proc.pid != os.getpid():
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    def kill_leftovers(self) -> list[int]:
        """Last-resort cleanup by pid; returns the pids that were still alive."""
        leftovers = self.processes()
        for proc in leftovers:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        return [proc.pid for proc in leftovers]
