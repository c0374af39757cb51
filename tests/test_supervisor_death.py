"""No process of the stack outlives its supervisor, however the supervisor dies: the
dev server and the MCP servers included (they do not watch it themselves). And no
child but the orchestrator (which calls the model) inherits a secret."""

from __future__ import annotations

import json
import os
import signal
import subprocess

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


@pytest.mark.parametrize("damage", ["cut short", "random bytes", "a stranger's pid"])
def test_a_damaged_state_file_neither_hides_the_stack_nor_stops_a_stranger(stack: Stack, damage: str) -> None:
    stranger = subprocess.Popen(["sleep", "120"])  # a process of someone else's
    try:
        with stack.up():
            supervisor = next(
                p for p in stack.processes() if "durable_agents_cli.stack.supervisor" in " ".join(p.cmdline())
            )
            state_file = stack.home / "run" / "state.json"
            supervisor.suspend()  # it rewrites the file on events: hold it still
            try:
                text = state_file.read_text()
                if damage == "cut short":
                    state_file.write_text(text[: len(text) // 2])
                elif damage == "random bytes":
                    state_file.write_bytes(os.urandom(300))
                else:
                    state = json.loads(text)
                    state["supervisor_pid"] = stranger.pid
                    state_file.write_text(json.dumps(state))
                status = stack.run("status")
                assert "Traceback" not in status.stderr
                if damage != "a stranger's pid":
                    assert status.returncode == 3
                    assert f"supervisor (pid {supervisor.pid}) is running" in status.stderr
            finally:
                supervisor.resume()
            down = stack.run("down")
            assert down.returncode == 0, down.stderr
            assert "dagent stopped." in down.stdout
            eventually(lambda: stack.processes() == [], timeout=30)
        assert stranger.poll() is None, "down stopped a process that is not the stack's"
    finally:
        stranger.kill()
        stranger.wait()


def test_two_ups_at_once_end_with_one_healthy_stack(stack: Stack) -> None:
    first, second = stack.start("up"), stack.start("up")
    try:
        outcomes = [process.communicate(timeout=120) for process in (first, second)]
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    try:
        assert (first.returncode, second.returncode) == (0, 0), outcomes
        assert any("already up" in out for out, _ in outcomes), outcomes
        assert stack.status()["healthy"] is True
    finally:
        stack.run("down")
