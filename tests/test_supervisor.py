"""The supervisor's restart policy, with its clock, sleep and process starter injected:
no wall time, no real processes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from durable_agents_cli.stack.components import ComponentSpec, Probe
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import StackConfig
from durable_agents_cli.stack.supervisor import BACKOFF_MAX, CRASH_LIMIT, Child, Supervisor, how_it_ended

# Above Linux's largest pid (2**22): no signal or lookup can reach a real process.
FAKE_PIDS = iter(range(2**22 + 1, 2**22 + 1000))


class CrashingProcess:
    """A child that has already exited with code 1."""

    def __init__(self) -> None:
        self.pid = next(FAKE_PIDS)
        self.returncode = 1

    async def wait(self) -> int:
        return self.returncode


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def crashed_child(tmp_path: Path, clock: Any, sleep: Any, start_process: Any) -> tuple[Supervisor, Child]:
    """A supervisor with one child, `flaky`, that has just crashed."""
    paths = StackPaths(tmp_path / "home")
    paths.ensure()
    config = StackConfig(
        pattern="nexus", model="offline", log_level="INFO", temporal_port=1, ui_port=2, mcp_ports={}
    )
    supervisor = Supervisor(paths, config, clock=clock, sleep=sleep, start_process=start_process)
    spec = ComponentSpec(name="flaky", argv=("flaky-worker",), probe=Probe.TCP, address="", port=None)
    child = Child(spec, paths.log_file("flaky"))
    supervisor.children[spec.name] = child
    child.process = CrashingProcess()  # type: ignore[assignment]
    return supervisor, child


async def test_a_crashing_child_is_restarted_with_growing_delays_then_given_up(tmp_path: Path) -> None:
    time = FakeTime()
    started: list[tuple[Any, ...]] = []

    async def start_process(*argv: Any, **_: Any) -> CrashingProcess:
        started.append(argv)
        return CrashingProcess()

    supervisor, child = crashed_child(tmp_path, time.clock, time.sleep, start_process)
    seen: list[tuple[str, str]] = []

    async def sleep(seconds: float) -> None:
        seen.append((child.status.state, child.status.detail))
        await time.sleep(seconds)

    supervisor.sleep = sleep

    await supervisor.watch(child)

    # While it waits to restart, the child is "restarting", with how and when it ended.
    assert seen
    assert all(state == "restarting" for state, _ in seen)
    assert re.fullmatch(r"exited with code 1 at \d\d:\d\d:\d\d", seen[0][1])
    assert time.slept == sorted(time.slept)
    assert time.slept[0] <= 1
    assert max(time.slept) <= BACKOFF_MAX
    assert len(started) == CRASH_LIMIT
    assert all(argv == ("flaky-worker",) for argv in started)
    assert child.status.state == "crashed"
    assert f"gave up after {CRASH_LIMIT} restarts" in child.status.detail
    assert child.status.restarts == CRASH_LIMIT


class Enough(Exception):
    """Ends a watch that would otherwise restart forever."""


async def test_crashes_an_hour_apart_are_each_a_first_crash(tmp_path: Path) -> None:
    time = FakeTime()
    waits: list[float] = []

    async def an_hour_later(seconds: float) -> None:
        waits.append(seconds)
        await time.sleep(seconds + 3600)

    async def start_process(*argv: Any, **_: Any) -> CrashingProcess:
        if len(waits) > 2 * CRASH_LIMIT:
            raise Enough
        return CrashingProcess()

    supervisor, child = crashed_child(tmp_path, time.clock, an_hour_later, start_process)

    with pytest.raises(Enough):
        await supervisor.watch(child)

    assert len(set(waits)) == 1  # the backoff never grew
    assert "gave up" not in child.status.detail


def test_an_exit_is_told_in_words() -> None:
    assert how_it_ended(-9) == "killed by SIGKILL"
    assert how_it_ended(-15) == "killed by SIGTERM"
    assert how_it_ended(3) == "exited with code 3"
