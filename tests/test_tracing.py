"""One trace per turn, across every process and namespace a turn crosses, in every
pattern: received over OTLP/HTTP by a receiver in this process (the protobuf a
collector reads), and drawn by `dagent trace` from the local store when no
collector is configured."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import Stack, eventually
from tests.otlp_receiver import ReceivedSpan, Receiver, otlp_receiver

pytestmark = pytest.mark.stack

QUESTION = "What's the stock price of TSLA?"
# What the trace of a remote-tool turn holds in every pattern (name prefix, service):
# the client's send, the update, the turn, the model calls, the team's tool workflow
# and its tool; then each transport's hop into the Finance team.
EVERY_PATTERN = [
    ("dagent.send", "dagent-cli"),
    ("StartUpdateWithStartWorkflow:", "dagent-cli"),
    ("HandleUpdate:send", "dagent-orchestrator"),
    ("dagent.turn", "dagent-orchestrator"),
    ("chat ", "dagent-orchestrator"),
    ("RunWorkflow:dagent.ToolWorkflow", "dagent-finance"),
    ("RunActivity:dagent.run_tool", "dagent-finance"),
]
HOPS = {
    "nexus": [
        ("StartNexusOperation:dagent.ToolService/execute_tool", "dagent-orchestrator"),
        ("RunStartNexusOperationHandler:dagent.ToolService/execute_tool", "dagent-finance"),
    ],
    "agents-nexus": [
        ("StartNexusOperation:dagent.ToolService/execute_tool", "dagent-orchestrator"),
        ("RunStartNexusOperationHandler:dagent.ToolService/execute_tool", "dagent-finance"),
    ],
    # The MCP SDK's own spans; the trace context travels in the request's `_meta`.
    "mcp": [
        ("MCP send tools/call stock_price", "dagent-orchestrator"),
        ("tools/call stock_price", "dagent-mcp-finance"),
        ("StartWorkflow:dagent.ToolWorkflow", "dagent-mcp-finance"),
    ],
}


@pytest.fixture(scope="module", params=list(HOPS))
def traced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Receiver]]:
    with otlp_receiver() as receiver:
        stack = Stack(
            home=tmp_path_factory.mktemp(f"traced-{request.param}") / "home",
            pattern=request.param,
            extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"},
        )
        with stack.up():
            yield stack, receiver


def ask(stack: Stack, question: str, *extra: str) -> dict[str, Any]:
    return json.loads(stack.run("ask", question, "--json", *extra, check=True).stdout)  # type: ignore[no-any-return]


def _find(spans: list[ReceivedSpan], name: str, service: str) -> ReceivedSpan | None:
    return next((s for s in spans if s.name.startswith(name) and s.service == service), None)


def _missing(spans: list[ReceivedSpan], expected: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, service) for name, service in expected if not _find(spans, name, service)]


def _complete(
    receiver: Receiver, trace_id: str, expected: list[tuple[str, str]], timeout: float = 60
) -> list[ReceivedSpan]:
    """The trace's spans once every expected one has arrived; else fail naming those missing."""
    deadline = time.monotonic() + timeout
    while _missing(spans := receiver.trace(trace_id), expected):
        if time.monotonic() > deadline:
            got = sorted((s.name, s.service) for s in spans)
            raise AssertionError(f"trace {trace_id} lacks {_missing(spans, expected)}; it holds {got}")
        time.sleep(0.1)
    return spans


def _ancestry(spans: list[ReceivedSpan], span: ReceivedSpan) -> list[str]:
    """The names from `span` up to its trace's root."""
    by_id = {s.span_id: s for s in spans}
    names = [span.name]
    while span.parent_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


def test_a_remote_tool_turn_is_one_trace_across_every_namespace(traced: tuple[Stack, Receiver]) -> None:
    stack, receiver = traced
    answer = ask(stack, QUESTION)
    assert "TSLA" in answer["answer"]
    trace_id = answer["trace_id"]
    assert trace_id
    assert len(trace_id) == 32
    expected = EVERY_PATTERN + HOPS[stack.pattern]
    spans = _complete(receiver, trace_id, expected)
    # Parent links are intact: one root (the client's send), every other parent present.
    ids = {s.span_id for s in spans}
    assert [s.name for s in spans if not s.parent_id] == ["dagent.send"]
    assert all(s.parent_id in ids for s in spans if s.parent_id)
    # The tool ran under the turn, through the transport's hop, under the user's send.
    tool = _find(spans, "RunActivity:dagent.run_tool", "dagent-finance")
    assert tool is not None
    assert tool.attributes["dagent.tool"] == "stock_price"
    path = _ancestry(spans, tool)
    for name, _ in [
        *HOPS[stack.pattern],
        ("dagent.turn", ""),
        ("HandleUpdate:send", ""),
        ("dagent.send", ""),
    ]:
        assert any(step.startswith(name) for step in path), (name, path)
    # Each model call is a GenAI span with its model and token counts.
    models = [s for s in spans if s.name.startswith("chat ")]
    assert len(models) >= 2
    for model in models:
        assert model.attributes["gen_ai.operation.name"] == "chat"
        assert model.attributes["gen_ai.request.model"]
        assert "gen_ai.usage.input_tokens" in model.attributes
        assert "gen_ai.usage.output_tokens" in model.attributes
    # The reply's usage is what the model calls reported (the offline model counts its
    # tokens as an OpenAI model would); it is free, and the Agents SDK carries no price.
    usage = answer["usage"]
    assert usage["input_tokens"] == sum(m.attributes["gen_ai.usage.input_tokens"] for m in models) > 0
    assert usage["output_tokens"] == sum(m.attributes["gen_ai.usage.output_tokens"] for m in models) > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["cost"] == (0.0 if stack.pattern == "nexus" else None)
    # No message, answer or token travels in a span.
    flat = json.dumps([s.attributes for s in spans])
    assert "TSLA" not in flat
    assert "Bearer" not in flat


def test_trace_points_at_the_collector_when_one_is_configured(traced: tuple[Stack, Receiver]) -> None:
    stack, receiver = traced
    result = stack.run("trace")
    assert result.returncode == 1
    assert f"traces go to the OTLP collector at {receiver.endpoint}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with no collector configured (spans go to the local store) that logs JSON."""
    home = tmp_path_factory.mktemp("traced-local") / "home"
    env: dict[str, str | None] = {"OTEL_EXPORTER_OTLP_ENDPOINT": None, "DAGENT_LOG_FORMAT": "json"}
    with Stack(home=home, extra_env=env).up() as stack:
        yield stack


def test_trace_draws_a_turn_from_the_local_store(local: Stack) -> None:
    first = ask(local, QUESTION)
    session = first["session"]
    second = json.loads(local.run("ask", "and for AAPL?", "--session", session, "--json", check=True).stdout)

    def drawn(*args: str) -> dict[str, Any] | None:
        result = local.run("trace", *args, "--json")
        return json.loads(result.stdout) if result.returncode == 0 else None

    # The client's spans are written as `ask` exits; the workers' within moments.
    def whole(*args: str) -> dict[str, Any] | None:
        found = drawn(*args)
        names = {span["name"] for span in found["spans"]} if found else set()
        return found if {"dagent.send", "dagent.turn", "RunActivity:dagent.run_tool"} <= names else None

    last = eventually(lambda: whole(session), timeout=30)
    assert last["trace_id"] == second["trace_id"]
    assert last["message_id"] == second["message_id"]
    chosen = eventually(lambda: whole(session, "--message", first["message_id"]), timeout=30)
    assert chosen["trace_id"] == first["trace_id"]
    assert {"cli", "orchestrator", "finance", "it"} <= set(chosen["services"])
    # Drawn for a person: a tree of every span, service and duration.
    tree = local.run("trace", session, check=True).stdout
    assert f"trace {second['trace_id']}" in tree
    for line in ("dagent.send cli", "dagent.turn orchestrator", "RunActivity:dagent.run_tool finance"):
        assert line in tree
    assert " ms" in tree


def test_json_log_lines_name_the_turn_and_trace_they_belong_to(local: Stack) -> None:
    answer = ask(local, QUESTION)
    session, trace_id = answer["session"], answer["trace_id"]

    def lines() -> list[dict[str, Any]] | None:
        shown = local.run("logs", "--session", session, "--json", "--lines", "1000", check=True).stdout
        records = [json.loads(line) for line in shown.splitlines()]
        return records if any(r["component"] == "finance" for r in records) else None

    records = eventually(lines, timeout=30)
    assert all(record["session"] == session for record in records)
    # The Finance worker's line of the tool run: its turn's message, trace and tool.
    run = next(r for r in records if r["component"] == "finance" and "running stock_price" in r["message"])
    assert run["message_id"] == answer["message_id"]
    assert run["trace_id"] == trace_id
    assert run["tool"] == "stock_price"
    assert run["team"] == "finance"
    assert {"time", "level", "logger", "workflow_id", "run_id", "span_id"} <= run.keys()
    # Text is still there for people: without --json every line is shown as written.
    assert local.run("logs", "finance", "--session", session, check=True).stdout.strip()


def test_trace_of_an_unknown_session_says_so(local: Stack) -> None:
    result = local.run("trace", "no-such-session")
    assert result.returncode == 1
    assert "No trace of session 'no-such-session' in the local store" in result.stderr
    assert local.run("trace", "bad id!").returncode != 0


SLOW_QUESTION = "Get JIRA metrics for project DEMO-456"
SLOW_SECONDS = 5


@pytest.fixture(scope="module")
def crashing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Receiver]]:
    """A stack whose IT tool takes SLOW_SECONDS, so a turn can be caught mid-call."""
    with otlp_receiver() as receiver:
        stack = Stack(
            home=tmp_path_factory.mktemp("traced-crash") / "home",
            extra_env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "DAGENT_TEST_SLOW_TOOL": f"jira_metrics:{SLOW_SECONDS}",
            },
        )
        with stack.up():
            yield stack, receiver


def _slow_turn(stack: Stack, receiver: Receiver, crash: bool) -> list[ReceivedSpan]:
    """The spans of a session's second turn (its first discovers the tools), a slow
    remote-tool turn; with `crash`, the orchestrator is SIGKILLed mid-call."""
    session = f"crash-{crash}-{uuid.uuid4().hex[:8]}"
    assert "**4**" in ask(stack, "What is 2 + 2?", "--session", session)["answer"]
    orchestrator = stack.component("orchestrator")
    earlier = len(receiver.spans)
    asking = stack.start("ask", SLOW_QUESTION, "--json", "--session", session, "--timeout", "120")
    if crash:
        # Mid-call: the tool's own span has begun in the IT worker (its log says it runs),
        # and the orchestrator has sent the spans it ended (a span ended in the last export
        # interval before a SIGKILL dies with the process, as with any batching exporter).
        eventually(lambda: "running jira_metrics" in _it_log_since(stack, session), timeout=30)
        eventually(lambda: _find(receiver.spans[earlier:], *HOPS["nexus"][0]), timeout=30)
        os.kill(orchestrator["pid"], signal.SIGKILL)
    stdout, stderr = asking.communicate(timeout=150)
    assert asking.returncode == 0, stderr
    answer = json.loads(stdout)
    assert "DEMO-456" in answer["answer"]
    expected = [*EVERY_PATTERN, *HOPS["nexus"]]
    expected = [
        (name.replace("stock_price", "jira_metrics"), service.replace("finance", "it"))
        for name, service in expected
    ]
    return _complete(receiver, answer["trace_id"], expected)


def _it_log_since(stack: Stack, session: str) -> str:
    log = (stack.home / "logs" / "it.log").read_text(errors="replace")
    return "\n".join(line for line in log.splitlines() if f"dagent-chat-{session}/" in line)


def test_a_worker_killed_mid_turn_and_replayed_duplicates_no_span(crashing: tuple[Stack, Receiver]) -> None:
    stack, receiver = crashing
    clean = _slow_turn(stack, receiver, crash=False)
    crashed = _slow_turn(stack, receiver, crash=True)
    # The new orchestrator replayed the turn: it ended the turn's spans once, with the
    # same ids (seeded by the workflow), and none of those the dead one had sent.
    assert stack.component("orchestrator")["restarts"] >= 1
    ids = [span.span_id for span in receiver.trace(crashed[0].trace_id)]
    assert len(ids) == len(set(ids))
    assert Counter(span.name for span in crashed) == Counter(span.name for span in clean)
