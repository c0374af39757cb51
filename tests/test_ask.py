"""The reference README's sample questions, asked as a user would: `dagent ask --json`
against a real stack, answered by the right tool on the right service and transport."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import re
import signal
import string
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from durable_agents_cli.stack.components import temporal_binary
from tests.helpers import NEXUS_TOOLS, Stack, eventually, tool_endpoints

pytestmark = pytest.mark.stack

PATTERNS = ["nexus", "agents-nexus", "mcp"]


@pytest.fixture(scope="module", params=PATTERNS)
def running_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp(f"ask-{request.param}") / "home"
    with Stack(home=home, pattern=request.param).up() as stack:
        yield stack


def ask(stack: Stack, question: str, *extra: str) -> dict[str, Any]:
    result = stack.run("ask", question, "--json", *extra, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


SAMPLES = [
    ("What is 125 * 8?", "orchestrator", "calculator", "local", ["1000"]),
    (
        "What's the weather like in San Francisco?",
        "orchestrator",
        "weather",
        "local",
        ["San Francisco", "sample data"],
    ),
    ("What is my IP address?", "it", "get_ip", "nexus", []),
    (
        "Get JIRA metrics for project DEMO-456",
        "it",
        "jira_metrics",
        "nexus",
        ["DEMO-456", "open", "sample data"],
    ),
    ("What's the stock price of TSLA?", "finance", "stock_price", "nexus", ["TSLA", "$", "sample data"]),
    (
        "Calculate ROI for $10,000 at 5% over 10 years",
        "finance",
        "calculate_roi",
        "nexus",
        ["16,288.95", "6,288.95"],
    ),
]


@pytest.mark.parametrize(("question", "service", "tool", "transport", "expected"), SAMPLES)
def test_sample_question(
    running_stack: Stack, question: str, service: str, tool: str, transport: str, expected: list[str]
) -> None:
    if transport == "nexus" and running_stack.pattern == "mcp":
        transport = "mcp"
    answer = ask(running_stack, question)
    assert [(c["service"], c["tool"], c["transport"]) for c in answer["tool_calls"]] == [
        (service, tool, transport)
    ]
    call = answer["tool_calls"][0]
    assert call["ok"]
    for text in expected:
        assert text in answer["answer"]
    assert answer["session"]
    assert answer["timings"]["total_ms"] > 0
    if tool == "get_ip":
        assert call["result"]["primary_address"] in answer["answer"]
    if tool == "calculate_roi":
        assert call["result"]["final_value"] == 16288.95
    if transport == "nexus":
        endpoints = asyncio.run(nexus_endpoints(running_stack, answer["session"]))
        assert endpoints == {f"{service}-nexus-endpoint"}
    if transport == "mcp":
        # The MCP server ran the tool as a workflow in the team's namespace.
        assert asyncio.run(mcp_tool_runs(running_stack, service)) > 0


async def mcp_tool_runs(stack: Stack, team: str) -> int:
    client = await stack.client(f"{team}-namespace")
    query = f"WorkflowType = 'dagent.ToolWorkflow' AND WorkflowId STARTS_WITH '{team}-mcp-tool-'"
    return len([w async for w in client.list_workflows(query)])


async def nexus_endpoints(stack: Stack, session: str) -> set[str]:
    return await tool_endpoints(await stack.client(), session)


def test_the_web_ui_names_each_call(running_stack: Stack) -> None:
    """The team's tool workflow (and, over Nexus, the operation in the conversation's
    history) carries a summary a reader of the Web UI understands without clicking."""
    answer = ask(running_stack, "What's the stock price of TSLA?")
    expected = f"stock_price TSLA for dagent-chat-{answer['session']}"
    # Visibility (what list_workflows reads) may lag the workflow by a moment.
    eventually(lambda: expected in asyncio.run(tool_workflow_summaries(running_stack, answer["session"])))
    if running_stack.pattern != "mcp":
        assert expected in asyncio.run(operation_summaries(running_stack, answer["session"]))


async def tool_workflow_summaries(stack: Stack, session: str) -> set[str]:
    """The static summaries of the Finance tool workflows started since `session` began."""
    client = await stack.client("finance-namespace")
    summaries = set()
    started = (
        await (await stack.client()).get_workflow_handle(f"dagent-chat-{session}").describe()
    ).start_time
    query = f"WorkflowType = 'dagent.ToolWorkflow' AND StartTime >= '{started.isoformat()}'"
    async for execution in client.list_workflows(query):
        description = await client.get_workflow_handle(execution.id).describe()
        summaries.add(await description.static_summary() or "")
    return summaries


async def operation_summaries(stack: Stack, session: str) -> set[str]:
    client = await stack.client()
    found = set()
    async for event in client.get_workflow_handle(f"dagent-chat-{session}").fetch_history_events():
        summary = event.user_metadata.summary
        if event.event_type == EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED and summary.data:
            # Encrypted as every payload is: the Web UI reads it through dagent's codec endpoint.
            codec = client.data_converter.payload_codec
            assert codec is not None
            [decoded] = await codec.decode([summary])
            found.add(client.data_converter.payload_converter.from_payload(decoded, str))
    return found


def test_follow_up_in_the_same_session(running_stack: Stack) -> None:
    first = ask(running_stack, "What's the stock price of TSLA?")
    session = first["session"]
    second = ask(running_stack, "and for AAPL?", "--session", session)
    assert second["session"] == session
    assert second["tool_calls"][0]["arguments"] == {"ticker": "AAPL"}
    third = ask(running_stack, "what was my first question?", "--session", session)
    assert "What's the stock price of TSLA?" in third["answer"]


def test_piped_output_is_plain_text(running_stack: Stack) -> None:
    """Not a terminal: the answer as written, a tool line, the footer; no padding to 80
    columns, no escape codes, no spinner; the session hint on stderr."""
    result = running_stack.run("ask", "What's the stock price of TSLA?", check=True)
    lines = result.stdout.splitlines()
    assert "TSLA" in lines[0]
    assert any(line.startswith('✓ finance.stock_price(ticker="TSLA")') for line in lines)
    assert re.fullmatch(r"\d+ ms · \d+ steps?( · \d+ tokens)?( · \$[\d.]+)?", lines[-1]), lines[-1]
    assert all(line == line.rstrip() for line in lines), lines
    assert "\x1b" not in result.stdout + result.stderr
    assert "continue with --session" in result.stderr


def test_same_message_id_twice_is_answered_once(running_stack: Stack) -> None:
    first = ask(running_stack, "What is 3 * 3?", "--message-id", "fixed-id-1")
    again = ask(running_stack, "What is 3 * 3?", "--message-id", "fixed-id-1", "--session", first["session"])
    assert again["answer"] == first["answer"]
    assert again["timings"]["workflow_ms"] == first["timings"]["workflow_ms"]


def test_tools_list_shows_live_services(running_stack: Stack) -> None:
    catalog = json.loads(running_stack.run("tools", "list", "--json", check=True).stdout)
    expected = NEXUS_TOOLS
    if running_stack.pattern == "mcp":
        expected = {(s, t, "mcp" if tr == "nexus" else tr) for s, t, tr in NEXUS_TOOLS}
    assert {(t["service"], t["tool"], t["transport"]) for t in catalog["tools"]} == expected
    # Each service says, over its own transport, which scope each of its tools needs.
    assert {t["tool"]: t["scope"] for t in catalog["tools"]} == {
        "calculator": "orchestrator:read",
        "weather": "orchestrator:read",
        "get_ip": "it:read",
        "jira_metrics": "it:read",
        "stock_price": "finance:read",
        "calculate_roi": "finance:read",
    }
    assert catalog["unavailable"] == {}
    table = running_stack.run("tools", "list", check=True).stdout
    assert "calculate_roi" in table


def test_a_crashed_worker_mid_session_loses_nothing(running_stack: Stack) -> None:
    first = ask(running_stack, "What is 1 + 1?")
    orchestrator = running_stack.component("orchestrator")
    os.kill(orchestrator["pid"], signal.SIGKILL)
    # The supervisor restarts it; the same session continues with its memory.
    second = ask(running_stack, "what was my first question?", "--session", first["session"])
    assert "What is 1 + 1?" in second["answer"]


def test_bad_input_gets_one_clear_line(running_stack: Stack) -> None:
    empty = running_stack.run("ask", "   ")
    assert empty.returncode == 1
    assert "The message is empty" in empty.stderr
    assert "Traceback" not in empty.stderr


def test_ask_without_a_stack_says_how_to_start_it(stack: Stack) -> None:
    result = stack.run("ask", "What is 1 + 1?")
    assert result.returncode == 1
    assert "dagent up" in result.stderr
    assert "Traceback" not in result.stderr


def test_tools_list_marks_a_silent_service_unavailable(running_stack: Stack) -> None:
    # The process that answers for IT's tools: its MCP server, or its Nexus worker.
    it = running_stack.component("it-mcp" if running_stack.pattern == "mcp" else "it")
    os.kill(it["pid"], signal.SIGSTOP)  # alive but silent: no restart, no answer

    def it_unavailable() -> dict[str, Any] | None:
        catalog: dict[str, Any] = json.loads(running_stack.run("tools", "list", "--json", check=True).stdout)
        return catalog if "it" in catalog["unavailable"] else None

    try:
        # An MCP listing of the last two seconds may still be served from the cache.
        catalog = eventually(it_unavailable, timeout=60)
    finally:
        os.kill(it["pid"], signal.SIGCONT)
    services = {t["service"] for t in catalog["tools"]}
    assert services == {"orchestrator", "finance"}


# A service that is down and comes back (the circuit breaker): tests/test_faults.py.


def test_the_database_and_grpc_readers_see_only_ciphertext(running_stack: Stack) -> None:
    """What a user typed, and what the tools answered, are sealed before they leave the
    process: not in temporal.db, not in a history read over gRPC; the owner reads them."""
    # Letters only: the offline model would read digits as arithmetic to do.
    secret = "hunter" + "".join(random.choices(string.ascii_lowercase, k=12))
    answer = ask(running_stack, f"My password is {secret}. What is the stock price of TSLA?")
    assert "price" in answer["tool_calls"][0]["result"], answer
    session = answer["session"]
    database = running_stack.home / "data"
    for path in database.glob("temporal.db*"):
        content = path.read_bytes()
        assert secret.encode() not in content, path.name
        assert b"sample data (deterministic" not in content, path.name
    shown = subprocess.run(
        [str(temporal_binary()), "workflow", "show", "--workflow-id", f"dagent-chat-{session}",
         "--address", f"127.0.0.1:{running_stack.temporal_port}", "--output", "json"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert base64.b64encode(b"binary/encrypted").decode() in shown.stdout
    assert secret not in shown.stdout
    # Its owner reads it through dagent, decrypted.
    history = running_stack.run("history", session, "--json", check=True)
    [entry] = json.loads(history.stdout)
    assert secret in entry["question"]
    assert entry["reply"]["tool_calls"][0]["tool"] == "stock_price"
    piped = running_stack.run("history", session, check=True).stdout
    assert secret in piped
    # In a pipe: the text as written, no padding to the terminal's width.
    assert all(line == line.rstrip() for line in piped.splitlines())
    missing = running_stack.run("history", "no-such-session")
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: No session 'no-such-session' on this stack")


def test_rotated_keys_keep_older_sessions_readable(running_stack: Stack) -> None:
    before = ask(running_stack, "What is 6 * 7?")
    listed = json.loads(running_stack.run("keys", "list", "--json", check=True).stdout)
    rotated = running_stack.run("keys", "rotate", check=True)
    after = json.loads(running_stack.run("keys", "list", "--json", check=True).stdout)
    assert after["current"] in rotated.stdout
    assert after["current"] != listed["current"]
    assert set(after["keys"]) == {*listed["keys"], after["current"]}
    # The running workers seal with the new key at once; the older session still reads.
    follow_up = ask(running_stack, "and what is 7 * 8?", "--session", before["session"])
    assert "56" in follow_up["answer"]
    history = json.loads(running_stack.run("history", before["session"], "--json", check=True).stdout)
    assert [entry["question"] for entry in history] == ["What is 6 * 7?", "and what is 7 * 8?"]
