"""Fault injection: processes killed in the middle of a turn, and nothing lost.

For each pattern, on a real stack: SIGKILL the orchestrator worker mid-turn, the
IT worker mid-tool-call, the IT MCP server mid-call (mcp pattern) and the dev
server itself. The supervisor restarts what died (the dev server on the same
SQLite file); the question asked during the fault is answered, and the
session's transcript holds every message once with one reply each.

"Mid-call" is made deterministic with the DAGENT_TEST_SLOW_TOOL test aid:
jira_metrics waits 3 s before it runs, and each fault strikes only once the
test has seen that call in flight. Run alone with `uv run pytest -m faults`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services import conversation
from services.conversation import CircuitStatus
from tests.helpers import Stack, eventually

pytestmark = [pytest.mark.stack, pytest.mark.faults]

PATTERNS = ["nexus", "agents-nexus", "mcp"]
SLOW_SECONDS = 3
SLOW_QUESTION = "Get JIRA metrics for project DEMO-456"


@pytest.fixture(scope="module")
def fault_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        home=tmp_path_factory.mktemp(f"faults-{request.param}") / "home",
        pattern=request.param,
        extra_env={"DAGENT_TEST_SLOW_TOOL": f"jira_metrics:{SLOW_SECONDS}"},
    )
    with stack.up():
        yield stack


class Session:
    """One conversation driven through `dagent ask`, with the message ids it sent."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.id = uuid.uuid4().hex[:12]
        self.sent: list[str] = []

    def ask(self, question: str) -> dict[str, Any]:
        process = self.start(question)
        return self.finish(process)

    def start(self, question: str) -> subprocess.Popen[str]:
        message_id = uuid.uuid4().hex
        self.sent.append(message_id)
        return self.stack.start(
            *("ask", question, "--json", "--session", self.id, "--message-id", message_id, "--timeout", "120")
        )

    def finish(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        stdout, stderr = process.communicate(timeout=150)
        assert process.returncode == 0, f"dagent ask exited {process.returncode}: {stderr}"
        return json.loads(stdout)  # type: ignore[no-any-return]

    def progress_shows(self, tool: str) -> bool:
        async def check() -> bool:
            client = await self.stack.client()
            try:
                progress = await conversation.progress(client, self.id)
            except Exception:  # not started yet, or the server is restarting
                return False
            return progress.state == "calling_tool" and progress.tool == tool

        return asyncio.run(check())

    def circuit(self, service: str) -> CircuitStatus:
        async def read() -> CircuitStatus:
            progress = await conversation.progress(await self.stack.client(), self.id)
            return next(c for c in progress.circuits if c.service == service)

        return asyncio.run(read())

    def transcript(self) -> list[tuple[str, bool]]:
        async def read() -> list[tuple[str, bool]]:
            entries = await conversation.transcript(await self.stack.client(), self.id)
            return [(entry.message_id, entry.reply is not None) for entry in entries]

        return asyncio.run(read())


def tool_workflows(stack: Stack) -> int:
    """IT tool workflows ever started: one per tool call, however often retried."""

    async def count() -> int:
        client = await stack.client("it-namespace")
        return len([w async for w in client.list_workflows("WorkflowType = 'dagent.ToolWorkflow'")])

    return asyncio.run(count())


def tool_runs_logged(stack: Stack, key_prefix: str) -> list[str]:
    """The IT worker's log lines for runs of the tool call whose idempotency key starts so."""
    log = (stack.home / "logs" / "it.log").read_text(errors="replace")
    return [line for line in log.splitlines() if "running jira_metrics" in line and key_prefix in line]


def kill_mid_call(stack: Stack, session: Session, component: str) -> None:
    """Ask the slow question and SIGKILL `component` while its tool call is running;
    then check the supervisor brought the component back and nothing was lost."""
    before = stack.component(component)
    first = session.ask("What is 2 + 2?")
    assert "**4**" in first["answer"]
    tool_runs_before = tool_workflows(stack)
    asking = session.start(SLOW_QUESTION)
    eventually(lambda: session.progress_shows("jira_metrics"), timeout=30)
    # The tool itself has started (its first log line) and sleeps SLOW_SECONDS: mid-call.
    key = f"dagent-chat-{session.id}/{session.sent[-1]}/"
    eventually(lambda: tool_runs_logged(stack, key), timeout=SLOW_SECONDS * 3)
    os.kill(before["pid"], signal.SIGKILL)
    answer = session.finish(asking)
    # The answer is the tool's real result, not an apology: the call survived.
    assert [(c["tool"], c["ok"]) for c in answer["tool_calls"]] == [("jira_metrics", True)]
    assert "DEMO-456" in answer["answer"]
    # One tool workflow for the call, whatever was retried around it.
    assert tool_workflows(stack) == tool_runs_before + 1
    # Every run of the tool activity carried the call's idempotency key; a rerun after
    # the worker died shows the same key again, so it is recognisable as a retry.
    runs = tool_runs_logged(stack, key)
    assert len(runs) >= (2 if component == "it" else 1), runs
    after = eventually(lambda: _restarted(stack, component, before["pid"]), timeout=60)
    assert after["restarts"] >= 1
    last = session.ask("what was my first question?")
    assert "What is 2 + 2?" in last["answer"]
    assert session.transcript() == [(message_id, True) for message_id in session.sent]


def _restarted(stack: Stack, component: str, old_pid: int) -> dict[str, Any] | None:
    now = stack.component(component)
    return now if now["state"] == "running" and now["pid"] != old_pid else None


# (pattern, component killed while the slow IT tool call is in flight)
FAULTS = [
    *((pattern, component) for pattern in PATTERNS for component in ("orchestrator", "it", "temporal")),
    ("mcp", "it-mcp"),
]


@pytest.mark.parametrize(("fault_stack", "component"), FAULTS, indirect=["fault_stack"])
def test_killed_mid_call_loses_nothing(fault_stack: Stack, component: str) -> None:
    kill_mid_call(fault_stack, Session(fault_stack), component)


@pytest.mark.parametrize("fault_stack", PATTERNS, indirect=True)
def test_a_silent_service_opens_its_circuit_and_is_used_again_when_back(fault_stack: Stack) -> None:
    """Finance alive but silent (SIGSTOP: no crash, so no restart): the turn that needs it
    says so within 15 s, later turns at once, other services keep working, and once it
    answers again the half-open probe closes the circuit."""
    finance = fault_stack.component("finance-mcp" if fault_stack.pattern == "mcp" else "finance")
    session = Session(fault_stack)
    assert session.ask("What's the stock price of TSLA?")["tool_calls"][0]["ok"]
    os.kill(finance["pid"], signal.SIGSTOP)
    try:
        down = session.ask("What's the stock price of AAPL?")
        assert "finance service is unavailable" in down["answer"]
        assert down["timings"]["workflow_ms"] < 15_000
        assert session.circuit("finance").state == "open"
        again = session.ask("What's the stock price of MSFT?")
        assert "finance service is unavailable" in again["answer"]
        assert again["timings"]["workflow_ms"] < 2_000  # refused at once: no timeout waited
        other = session.ask("Get JIRA metrics for project DEMO")
        assert [(c["service"], c["ok"]) for c in other["tool_calls"]] == [("it", True)]
    finally:
        os.kill(finance["pid"], signal.SIGCONT)
    retry_at = session.circuit("finance").retry_at
    assert retry_at is not None
    eventually(lambda: session.circuit("finance").state == "half-open", timeout=70)
    back = session.ask("What's the stock price of NVDA?")
    assert [(c["tool"], c["ok"]) for c in back["tool_calls"]] == [("stock_price", True)]
    assert session.circuit("finance").state == "closed"
    assert session.transcript() == [(message_id, True) for message_id in session.sent]


@pytest.mark.parametrize("fault_stack", PATTERNS, indirect=True)
def test_a_multi_part_question_names_the_part_a_silent_service_could_not_answer(fault_stack: Stack) -> None:
    """A new conversation, Finance silent from the start: the IP is answered, the stock
    price is named as what could not be answered and why, and the turn is partial. (The
    orchestrator may still know Finance's tools from a moment ago, and then tries the
    call, which fails: either way the answer says so.)"""
    finance = fault_stack.component("finance-mcp" if fault_stack.pattern == "mcp" else "finance")
    os.kill(finance["pid"], signal.SIGSTOP)
    try:
        answer = Session(fault_stack).ask("TSLA price and my IP")
    finally:
        os.kill(finance["pid"], signal.SIGCONT)
    calls = [(c["tool"], c["ok"]) for c in answer["tool_calls"]]
    assert calls in ([("get_ip", True)], [("get_ip", True), ("stock_price", False)]), calls
    assert "Your IP address is" in answer["answer"]
    assert "stock_price" in answer["answer"]
    named = answer["answer"].split("stock_price")[1]  # the part, then whose and why
    assert "finance" in named
    assert "not available" in named or "unavailable" in named
    assert answer["partial"] is True
    assert answer["error"] is False
    assert set(answer["unavailable"]) == {"finance"}
