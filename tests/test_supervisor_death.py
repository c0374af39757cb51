"""No process of the stack outlives its supervisor, however the supervisor dies: the
dev server and the MCP servers included (they do not watch it themselves). And no
child but the orchestrator (which calls the model) inherits a secret."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from tests.helpers import Stack, eventually

pytestmark = pytest.mark.stack


SECRET = "sk-acme-not-for-the-teams-0123"


def test_a_killed_supervisor_takes_every_child_with_it(stack: Stack) -> None:
    stack.pattern = "mcp"
    stack.extra_env["ACME_API_KEY"] = SECRET
    with stack.up():
        status = stack.status()
        children = {c["name"]: c["pid"] for c in status["components"]}
        assert {"temporal", "it-mcp", "finance-mcp", "orchestrator"} <= set(children)
        holders = {name for name, pid in children.items() if SECRET in psutil.Process(pid).environ().values()}
        assert holders == {"orchestrator"}
        supervisor = next(
            p for p in stack.processes() if "durable_agents_cli.stack.supervisor" in " ".join(p.cmdline())
        )
        os.kill(supervisor.pid, signal.SIGKILL)

        def all_gone() -> bool:
            return not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                           for pid in children.values())  # fmt: skip

        eventually(all_gone, timeout=30)
        # And the next `up` starts cleanly on the same ports.
        stack.run("up", "--pattern", "mcp", check=True)
        assert stack.status()["healthy"] is True
